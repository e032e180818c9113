# Databricks notebook source
# MAGIC %md
# MAGIC # Occupancy forecast validation
# MAGIC Promotes `@challenger` to `@champion` if it beats the hardest baseline (on the same rows) and the champion; a refusal is reported, not raised (exit 0, as `parkpal forecast validate`).
# MAGIC
# MAGIC The same step as the job task `parkpal-forecast-validate`: the widgets are its parameters. Run it on a cluster with the
# MAGIC `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-forecast-validate")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-forecast-validate")
