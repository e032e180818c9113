# Databricks notebook source
# MAGIC %md
# MAGIC # Sessions repair
# MAGIC Re-sessionize the users with late events (upsert by session id).
# MAGIC
# MAGIC The same step as `parkpal sessions repair` and the entry point `parkpal-sessions-repair`: the widgets are its options. Run it on a
# MAGIC cluster with the `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-sessions-repair")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-sessions-repair")
