"""CodeCommit: ListRepositories and repository tags, which moto 5.2.5 lacks
(ListRepositories and the tagging calls are 500 NotImplementedError; tags given to
CreateRepository are dropped).

Every SageMaker Unified Studio project gets a CodeCommit repository from its
Tooling environment's stack, and a stack that fails to delete leaves it behind
(research/workflow.md §2.2 step 14). Finding those leftovers, as `smus-mesh
down` and `audit` do, needs ListRepositories, with its sorting and its pages
of 1,000 (the batch size the botocore model documents); telling DataZone's
repositories apart from others needs their `AmazonDataZoneDomain` tag.

Modules: `exceptions`, `models` (repository tags), `responses`.
"""
