"""The risk-committee report; the only place for matplotlib and shap plots."""
