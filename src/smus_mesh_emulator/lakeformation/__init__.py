"""Lake Formation as the SMUS workflow relies on it: checked grants, the consumer's view of
the grants it received, grants that die with their tables, and in-process helpers.

Why: DataZone's managed access *is* Lake Formation (research/workflow.md phases B, H and
M). A table must be LF-managed to be subscribed; the manage-access roles re-grant what
they hold with grant option; the producer account grants the consumer account, which
re-grants its project role; Athena reads only what those grants allow. moto 5.2.5 accepts
every grant, keeps grants on dropped tables, does not show an account the grants it
received and forgets `HybridAccessEnabled` (research/emulation.md §2), so a tool that
got any of this wrong would pass against moto and fail against AWS.

Modules, lowest first: `exceptions`; `resources` (resource shapes: normalise, cover,
match); `models` (storage: Glue lookups, settings, the grant store, registrations);
`catalog_sync` (`prune`: grants follow the Glue catalog); `permissions` (the in-process
API DataZone and Athena call); `responses` (the HTTP API on moto's).
"""
