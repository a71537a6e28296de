"""IAM: AWS managed policies exist, as in every real account, without loading all of them;
and UpdateAssumeRolePolicy accepts the session actions AWS accepts in trust policies.

moto can preload its 1,582 AWS managed policies into every IAM backend, but it
creates one IAM backend per partition for each account it looks up (on every
request), which made each reset cost seconds. Instead, an AWS managed policy is
materialised in an account the first time it is referenced by ARN (attach,
get, get version); an ARN that AWS does not have still fails with NoSuchEntity.

Modules: `models` (managed policies, trust policies), `responses`.
"""
