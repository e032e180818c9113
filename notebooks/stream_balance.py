# Databricks notebook source
# MAGIC %md
# MAGIC # Stream balance
# MAGIC Bronze = silver + quarantine + duplicates, per hub (exit 1 if not).
# MAGIC
# MAGIC The same step as `parkpal stream balance` and the entry point `parkpal-stream-balance`: the widgets are its options. Run it on a
# MAGIC cluster with the `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-stream-balance")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-stream-balance")
