"""Occupancy forecasting, by lifecycle stage (as mlops-stacks organises ML on Databricks):
`series` / `features` (inputs and features), `model` / `backtest` / `training` (training),
`validation` (baselines, champion vs challenger, promotion), `batch_inference` (scoring into gold),
`monitoring` (forecasts vs actuals), `registry` (MLflow experiment, model, aliases)."""
