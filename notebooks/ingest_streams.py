# Databricks notebook source
# MAGIC %md
# MAGIC # Streaming ingestion
# MAGIC Event Hubs (Kafka endpoint) -> bronze -> silver (+ quarantine) -> parking sessions. With `trigger` = `availableNow` it drains what is there and stops; the `streaming` job runs it continuously.
# MAGIC
# MAGIC The same step as the job task `parkpal-ingest`: the widgets are its parameters. Run it on a cluster with the
# MAGIC `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-ingest")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-ingest")
