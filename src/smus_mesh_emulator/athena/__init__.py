"""Athena that really runs SQL (DuckDB) over the emulated S3 data, and enforces Lake Formation.

Why: the point of the whole SMUS set-up is that the consumer's project role can query the
producer's table from its own account, and only after the subscription is granted. moto's
Athena runs nothing: every query SUCCEEDS with no rows, whatever its SQL or permissions
(research/emulation.md §2). Here a query:

1. is accepted in a workgroup of the caller's account with an output location (the
   request's or the workgroup's), and passes QUEUED -> RUNNING through the scheduler
   (kind "athena.query"), so a client must poll GetQueryExecution;
2. when it runs (`sql.execute`), resolves every table it names in the caller's Glue catalog
   (AwsDataCatalog), following resource links (a table's TargetTable, a database's
   TargetDatabase) to the owner account;
3. checks Lake Formation SELECT for the caller's role (`catalog.authorised`);
4. reads each table's objects from moto's S3 in-process (DuckDB's s3:// needs an
   extension download, research/emulation.md §5): CSV (LazySimpleSerDe, OpenCSVSerde),
   JSON and Parquet, partitions included, cast to the Glue column types;
5. runs the SQL in a DuckDB connection that cannot touch files or load extensions, and
   writes the result CSV to `<output location>/<QueryExecutionId>.csv` in the caller's S3.

Anything that goes wrong in steps 2-5 ends the query FAILED with a StateChangeReason and
an AthenaError (category/type from Athena's error catalog), never as an API error.

Modules, lowest first: `exceptions`, `models` (query executions), `catalog` (steps 2-3),
`tables` (step 4), `sql` (steps 2-5 in order), `responses` (the API, step 1).
"""
