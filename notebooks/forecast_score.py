# Databricks notebook source
# MAGIC %md
# MAGIC # Occupancy forecast scoring
# MAGIC The next 24 hours of occupancy per zone with the `@champion` model into `gold.zone_occupancy_forecast` (from `as_of`, default the newest hour).
# MAGIC
# MAGIC The same step as the job task `parkpal-forecast-score`: the widgets are its parameters. Run it on a cluster with the
# MAGIC `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-forecast-score")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-forecast-score")
