"""Command line: ``techcredit demo | generate | sample | ... | report``.

Each subcommand is a small function ``_cmd_<name>(args) -> int``, registered in
:func:`build_parser`. The CLI is the only place that prints.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from techcredit._version import __version__
from techcredit.exceptions import TechCreditError

if TYPE_CHECKING:
    from techcredit.decision.decider import Decider
    from techcredit.decision.result import Decision

__all__ = ["build_parser", "main"]


def _print_summary(summary: dict[str, object]) -> None:
    rows = summary["rows"]
    counts = rows if isinstance(rows, dict) else {}
    print("tables:")
    for name, count in counts.items():
        print(f"  {name:<14} {count:>12,} rows")
    if "truth_auc" in summary:
        print(f"default rate (12 months): {summary['default_rate']:.2%}")
        print(f"AUC of the true PD (the ceiling for any model): {summary['truth_auc']:.3f}")
        print("by segment (latent firm kind / stage):")
        by_segment = summary["by_segment"]
        print("  " + str(by_segment).replace("\n", "\n  "))


def _load_tables(args: argparse.Namespace) -> tuple[object, str]:
    if getattr(args, "data", None):
        from techcredit.data import read_tables

        return read_tables(args.data), f"tables in {args.data}"
    if getattr(args, "n_firms", None):
        from techcredit.data import generate

        return (generate(args.n_firms, seed=args.seed),
                f"{args.n_firms:,} generated firms (seed {args.seed})")
    from techcredit.data import load_sample

    return load_sample(), "the committed sample (data/sample)"


def _cmd_demo(args: argparse.Namespace) -> int:
    """Sample data -> train -> register -> promote -> score a few applications."""
    from techcredit.data.sample import summarize

    print(f"techcredit {__version__} demo: synthetic micro and tech firms with a known truth")
    tables, source = _load_tables(args)
    print(f"data: {source}")
    _print_summary(summarize(tables))
    print("\n[1/4] training: features, segments, scorecard + XGBoost per segment, "
          "out-of-time validation")
    job = _train(tables, progress=not args.quiet)
    print("\n[2/4] promotion gates (mlflow.yaml)")
    promoted = _cmd_promote(argparse.Namespace(version=job.version.version))
    if promoted != 0:
        return promoted
    print("\n[3/4] scoring sample applications with models:/"
          f"{job.version.model_name}@champion")
    _score_examples(tables, f"models:/{job.version.model_name}@champion", args.examples)
    print("\n[4/4] done: `mlflow ui --backend-store-uri sqlite:///mlflow.db` browses the run")
    return 0


def _train(tables: object, *, progress: bool) -> object:
    from techcredit.pipeline.job import run_training_job

    start = time.perf_counter()
    job = run_training_job(tables, progress=progress)  # type: ignore[arg-type]
    print(f"trained in {time.perf_counter() - start:.0f} s; "
          f"registered {job.version.model_name} version {job.version.version} as challenger "
          f"(run {job.version.run_id})")
    print(f"  {'segment':<13}{'champion':<10}{'trained on':<26}{'n_val':>6}{'AUC':>7}{'KS':>7}"
          f"{'PSI':>7}{'cal.err':>8}")
    for seg, entry in job.train.validation["segments"].items():
        m = entry["models"][entry["champion"]]
        print(f"  {seg:<13}{entry['champion']:<10}{'+'.join(entry['trained_on']):<26}"
              f"{entry['n_validation']:>6}{m['auc']:>7.3f}{m['ks']:>7.3f}{m['psi']:>7.3f}"
              f"{m['calibration_error']:>8.3f}")
    return job


def _score_examples(tables: object, uri: str, count: int) -> None:
    """Decide the last ``count`` sample applications through ``techcredit.Decider``."""
    from techcredit.data.applications import application_records

    decider = _load_decider(uri)
    rows = tables.applications.tail(count)  # type: ignore[attr-defined]
    for _, row in rows.iterrows():
        _print_decision(decider.score(application_records(tables, row)),  # type: ignore[arg-type]
                        languages=("zh", "en"))


def _load_decider(source: str, *, shadow: bool | None = None) -> Decider:
    """``techcredit.Decider.load(source)``; shadow scoring defaults to ``mlflow.yaml``."""
    from techcredit.config.mlflow import load_mlflow_settings
    from techcredit.serving import Decider

    settings = load_mlflow_settings()
    shadow = settings.serving.shadow_challenger if shadow is None else shadow
    return Decider.load(source, shadow=shadow, settings=settings)


def _print_decision(d: Decision, *, languages: Sequence[str] = ("en",)) -> None:
    """One line per decision (outcome, PD, limit, rate), then its reasons."""
    rate = "-" if d.rate_annual is None else f"{d.rate_annual:.2%}"
    print(f"  application {d.application_id}: {d.outcome:<8}{d.product:<13}{d.segment:<13}"
          f"PD {d.prob_default:>6.2%}  grade {d.risk_grade:<4}"
          f"limit {d.limit_cny:>12,.0f} CNY  rate {rate}")
    for reason in d.reasons:
        texts = " / ".join(getattr(reason, f"text_{lang}") for lang in languages)
        print(f"      {reason.code:<28}{texts}")


def _read_applications(path: Path) -> list[object]:
    """Applications from a JSON array of documents, or JSON lines (one per line)."""
    import json

    from techcredit.exceptions import InvalidInputError

    text = path.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            docs = json.loads(text)
        else:
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise InvalidInputError([("input", None, str(path), f"not JSON: {exc}")]) from None
    return list(docs)


def _cmd_score(args: argparse.Namespace) -> int:
    """Decide the applications of a JSON file; print a line each, write JSON lines."""
    decider = _load_decider(args.model, shadow=args.shadow)
    docs = _read_applications(args.input)
    start = time.perf_counter()
    decisions: list[Decision] = decider.score_batch(docs, as_frame=False)  # type: ignore[assignment]
    elapsed = time.perf_counter() - start
    print(f"{len(decisions)} decisions from {decider.model_name} "
          f"(version {decider.model_version or 'local bundle'}) in {elapsed:.3f} s")
    for decision in decisions:
        _print_decision(decision)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        with args.output.open("w", encoding="utf-8") as out:
            for decision in decisions:
                out.write(decision.to_json() + "\n")
        print(f"wrote {args.output}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    """Train on the sample (default), a folder of tables, or generated firms; register."""
    tables, source = _load_tables(args)
    print(f"training on {source}")
    _train(tables, progress=not args.quiet)
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from techcredit.data import generate
    from techcredit.data.sample import summarize, tables_digest, write_tables

    tables = generate(args.n_firms, seed=args.seed, invoice_scale=args.invoice_scale)
    for path in write_tables(tables, args.out):
        print(f"wrote {path}")
    print(f"digest {tables_digest(tables)}")
    _print_summary(summarize(tables))
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from techcredit.data.sample import _main

    return _main(["--write"] if args.write else [])


def _cmd_rating(args: argparse.Namespace) -> int:
    """Print the innovation-tier distribution and default rate per tier."""
    from techcredit.rating import rate_firms, report_tiers

    if args.sample:
        from techcredit.data.sample import load_sample

        tables, source = load_sample(), "the committed sample"
    else:
        from techcredit.data import generate

        tables = generate(args.n_firms, seed=args.seed)
        source = f"{args.n_firms:,} generated firms (seed {args.seed})"
    start = time.perf_counter()
    rated = rate_firms(tables)
    elapsed = time.perf_counter() - start
    print(f"innovation rating of {source}: {len(rated):,} firms in {elapsed:.2f} s")
    for title, products in (("all applications", None), ("tech_loan applications",
                                                          ["tech_loan"])):
        table = report_tiers(tables, rated, products=products)
        print(f"\n{title}:")
        print(f"  {'tier':<5}{'firms':>8}{'share':>8}{'defaults':>10}{'default rate':>14}")
        for tier, row in table.iterrows():
            rate = "-" if row["firms"] == 0 else f"{row['default_rate']:.2%}"
            print(f"  {tier:<5}{int(row['firms']):>8,}{row['share']:>8.1%}"
                  f"{int(row['defaults']):>10,}{rate:>14}")
    return 0


def _cmd_promote(args: argparse.Namespace) -> int:
    """Check the promotion gates of a registered version; move ``champion`` if all pass."""
    from techcredit.registry import promote

    result = promote(args.version)
    print(f"promotion gates of {result.model_name} version {result.version} "
          "(segment, champion model, metric, value, limit):")
    for gate in result.gates:
        print(f"  {gate}")
    if result.promoted:
        was = f" (was version {result.previous_champion})" if result.previous_champion else ""
        print(f"promoted version {result.version} to champion{was}")
        return 0
    failed = ", ".join(f"{g.segment}.{g.gate}" for g in result.failed)
    print(f"not promoted: failed {failed}; champion unchanged"
          + (f" (version {result.previous_champion})" if result.previous_champion else ""))
    return 1


def _cmd_monitor(args: argparse.Namespace) -> int:
    """Early warnings and IP-pledge events of a portfolio at a date; CSV of alerts."""
    import pandas as pd

    from techcredit.monitoring import Portfolio, build_scenario, monitor, summarize_alerts

    tables, source = _load_tables(args)
    if args.demo:
        scenario = build_scenario(tables, as_of=args.as_of, seed=args.seed)  # type: ignore[arg-type]
        tables, portfolio, as_of = scenario.tables, scenario.portfolio, scenario.as_of
        print(f"demo: {len(portfolio.loans):,} loans booked from clean applications of "
              f"{source}; stable records to {as_of.date()}; {len(scenario.planted)} plants")
    elif args.portfolio and args.as_of:
        portfolio, as_of = Portfolio.read(args.portfolio), pd.Timestamp(args.as_of)
        print(f"portfolio {args.portfolio} on {source}")
    else:
        print("techcredit monitor: give --portfolio DIR and --as-of DATE, or --demo",
              file=sys.stderr)
        return 2
    live = portfolio.active(as_of)
    alerts = monitor(tables, portfolio, as_of)  # type: ignore[arg-type]
    print(f"monitoring date {as_of.date()}: {len(live.loans):,} active loans, "
          f"{len(live.pledges):,} pledged rights, {len(alerts):,} alerts")
    print(f"  {'level':<9}{'级别':<6}{'rule':<30}{'alerts':>7}{'loans':>7}")
    for row in summarize_alerts(alerts).itertuples():
        print(f"  {row.level:<9}{row.level_zh:<6}{row.rule_id:<30}{row.alerts:>7}{row.loans:>7}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    alerts.to_csv(args.out, index=False, encoding="utf-8")
    print(f"wrote {args.out}")
    if args.demo:
        expected = {tuple(r) for r in scenario.expected[["loan_id", "rule_id"]].to_numpy()}
        raised = {tuple(r) for r in alerts[["loan_id", "rule_id"]].to_numpy()}
        print(f"planted alerts raised: {len(expected & raised)} of {len(expected)}; "
              f"alerts not planted: {len(raised - expected)}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    """Write the risk-committee report of a model version (HTML) and log it to its run."""
    from techcredit.reporting import ModelIdentity, build_report, log_report, resolve_model

    registered = str(args.model).startswith("models:")
    if registered:
        bundle, identity = resolve_model(args.model)
    else:
        bundle, identity = args.model, ModelIdentity.from_bundle(args.model)
    # The training run records the snapshot's digest, not the tables: read them from a
    # folder (default the committed sample), and the report says whether their digest is
    # the recorded one.
    tables, source = _load_tables(args)
    version = identity.version or "bundle"
    output = args.output or Path(f"committee_report_{identity.model_name}_v{version}.html")
    report = build_report(bundle, tables, identity=identity, data_source=source,
                          output=output)
    print(f"wrote {output}: {len(report.html.encode('utf-8')):,} bytes, {report.images} "
          f"images, {len(report.sections)} sections, in {report.seconds:.1f} s")
    if not report.snapshot_matches:
        print(f"warning: the data read ({source}) is not the training snapshot "
              f"({identity.data_snapshot_sha256[:12]}...); the report says so", file=sys.stderr)
    if registered and args.log:
        print(f"logged to MLflow: {log_report(output, identity)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="techcredit",
        description="Explainable credit decisions for Chinese micro and technology firms.",
    )
    parser.add_argument("--version", action="version", version=f"techcredit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="sample data -> train -> register -> promote -> score "
                          "(the README's first command)")
    demo.add_argument("--n-firms", type=int, default=None,
                      help="use this many generated firms instead of the committed sample")
    demo.add_argument("--seed", type=int, default=20261122)
    demo.add_argument("--examples", type=int, default=5, help="applications to score")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_cmd_demo)

    tr = sub.add_parser("train", help="train all segments, log and register as challenger")
    source = tr.add_mutually_exclusive_group()
    source.add_argument("--data", type=Path, help="folder of Parquet tables (default: sample)")
    source.add_argument("--n-firms", type=int, default=None, help="train on generated firms")
    tr.add_argument("--seed", type=int, default=20261122)
    tr.add_argument("--quiet", action="store_true", help="no progress bars")
    tr.set_defaults(func=_cmd_train)

    gen = sub.add_parser("generate", help="generate synthetic raw tables to a folder of Parquet "
                         "files")
    gen.add_argument("--n-firms", type=int, required=True)
    gen.add_argument("--seed", type=int, default=20261122)
    gen.add_argument("--invoice-scale", type=float, default=1.0)
    gen.add_argument("--out", type=Path, required=True)
    gen.set_defaults(func=_cmd_generate)

    sample = sub.add_parser("sample", help="regenerate the committed sample in data/sample")
    sample.add_argument("--write", action="store_true", help="overwrite data/sample/*.parquet")
    sample.set_defaults(func=_cmd_sample)
    rating = sub.add_parser("rating", help="innovation tiers and default rate per tier")
    rating.add_argument("--sample", action="store_true", help="use the committed sample")
    rating.add_argument("--n-firms", type=int, default=5000)
    rating.add_argument("--seed", type=int, default=20261122)
    rating.set_defaults(func=_cmd_rating)

    sc = sub.add_parser("score", help="decide the applications of a JSON file (an array "
                        "of application documents or JSON lines)")
    sc.add_argument("--model", required=True,
                    help="models:/<name>@<alias>, models:/<name>/<version> or a bundle folder")
    sc.add_argument("--input", type=Path, required=True, help="JSON file of applications")
    sc.add_argument("--output", type=Path, default=None,
                    help="write each full decision as a JSON line here")
    sc.add_argument("--shadow", action=argparse.BooleanOptionalAction, default=None,
                    help="score the challenger in shadow (default: mlflow.yaml serving)")
    sc.set_defaults(func=_cmd_score)

    promote = sub.add_parser("promote", help="move the champion alias to a registered version "
                             "if the promotion gates of mlflow.yaml pass")
    promote.add_argument("--version", default=None,
                         help="model version (default: the version with alias challenger)")
    promote.set_defaults(func=_cmd_promote)

    mon = sub.add_parser("monitor", help="post-loan early warnings and IP-pledge events of a "
                         "portfolio; prints a summary and writes a CSV of alerts")
    mon.add_argument("--data", type=Path, help="folder of Parquet tables (default: sample)")
    mon.add_argument("--portfolio", type=Path,
                     help="folder with loans.csv and pledges.csv (see docs/monitoring.md)")
    mon.add_argument("--as-of", default=None, help="monitoring date, YYYY-MM-DD")
    mon.add_argument("--demo", action="store_true", help="book the data's clean applications, "
                     "continue them and plant deterioration (as-of default: last application "
                     "+ 12 months)")
    mon.add_argument("--seed", type=int, default=0, help="demo: which loans get the plants")
    mon.add_argument("--out", type=Path, default=Path("alerts.csv"), help="CSV of alerts")
    mon.set_defaults(func=_cmd_monitor)

    rep = sub.add_parser("report", help="the risk-committee report of a model version: one "
                         "self-contained HTML file, logged to the version's MLflow run")
    rep.add_argument("--model", default="models:/techcredit@champion",
                     help="models:/<name>@<alias>, models:/<name>/<version> or a bundle "
                     "folder (default: models:/techcredit@champion)")
    rep.add_argument("--data", type=Path, default=None,
                     help="folder of Parquet tables the version was trained on (default: "
                     "data/sample); the report checks its digest against the run's")
    rep.add_argument("--output", type=Path, default=None,
                     help="HTML file (default: committee_report_<name>_v<version>.html)")
    rep.add_argument("--log", action=argparse.BooleanOptionalAction, default=True,
                     help="log the file to the version's training run (models:/ URIs only)")
    rep.set_defaults(func=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except TechCreditError as exc:
        print(f"techcredit: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
