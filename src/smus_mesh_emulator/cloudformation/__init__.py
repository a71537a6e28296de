"""CloudFormation that creates what DataZone environments hold and fails the way AWS does.

A DataZone environment is a CloudFormation stack in its account (research/
workflow.md §2.1): a Glue database, an Athena workgroup, a CodeCommit
repository, IAM roles, S3 buckets. moto 5.2.5 (research/emulation.md §2):

* ignores `AWS::Glue::Database`, `AWS::Athena::WorkGroup` and
  `AWS::CodeCommit::Repository` with a log line: the stack says
  CREATE_COMPLETE, nothing exists and the outputs that reference them vanish;
* says DELETE_COMPLETE for a stack whose S3 bucket is not empty, and leaves the
  bucket behind, where AWS ends DELETE_FAILED and keeps the stack: the orphan
  that `smus-mesh down` must find and clean;
* lets a resource failure escape as a 500 from CreateStack, where AWS fails and
  rolls the stack back; and accepts resource types it does not know.

The three resource types are `CloudFormationModel` subclasses below: moto finds
models through `CloudFormationModel.__subclasses__()` behind `lru_cache`d
lookups, so the caches are cleared once the classes exist (emulation.md §3.4).
Creation and deletion go through `create_stack()` / `delete_stack_now()`,
shared by the HTTP override (`CloudFormationStackResponse`) and the in-process
API that DataZone provisioning calls: `deploy_stack`, `delete_stack`,
`stack_status`. Stacks made in-process are ordinary stacks of their account,
visible and deletable through the CloudFormation API.

Modules: `exceptions`, `models` (the resource types), `stacks` (the life cycle and the
in-process API), `responses`.
"""
