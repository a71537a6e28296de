"""Amazon Redshift Serverless, as much of it as DataZone's RedshiftServerless blueprint needs.

moto 5.2.5 has no redshift-serverless backend. The blueprint's environment stack creates a
namespace and a workgroup in the environment's account (CloudFormation types
`AWS::RedshiftServerless::Namespace` and `::Workgroup`, in cloudformation/models.py), and a
user or a clean-up script reads and deletes them through the API: GetNamespace,
ListNamespaces, DeleteNamespace, GetWorkgroup, ListWorkgroups, DeleteWorkgroup. Anything
else fails closed (HTTP 501 NotImplemented, naming the operation).

Modules, lowest first: `exceptions`, `models` (namespaces and workgroups per account and
region), `urls`, `responses` (the API).
"""
