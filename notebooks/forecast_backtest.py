# Databricks notebook source
# MAGIC %md
# MAGIC # Forecast backtest
# MAGIC Rolling-origin backtest of the model and the baselines on any hourly occupancy table.
# MAGIC
# MAGIC The same step as `parkpal forecast backtest` and the entry point `parkpal-forecast-backtest`: the widgets are its options. Run it on a
# MAGIC cluster with the `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-forecast-backtest")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-forecast-backtest")
