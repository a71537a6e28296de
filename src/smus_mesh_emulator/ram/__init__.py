"""RAM as the DataZone account association needs it: shareable domains, invitations, views.

DataZone has no "associate account" API: the domain account shares the domain
with the other account through AWS RAM, the other account accepts the
invitation, and the domain account polls the principal association until it
is ASSOCIATED (research/workflow.md phase D). moto 5.2.5 lacks most of that
(research/emulation.md §2):

* a DataZone domain ARN is rejected ("You cannot share the selected resource
  type": `ResourceShare.SHAREABLE_RESOURCES` has no "domain"), and
  `permissionArns` is ignored;
* there are no invitations at all, and every association reads ASSOCIATED at once;
* `GetResourceShares(resourceOwner="OTHER-ACCOUNTS")` is a 500, its
  `resourceShareStatus` filter is ignored, and `ListResources` does not exist.

`RamResponse` subclasses moto's RAM response. Shares are `Share` objects, a
subclass of moto's `ResourceShare` whose own `SHAREABLE_RESOURCES` adds
"domain" (moto's class and module are left untouched), stored in moto's
backend list so that moto's remaining operations (UpdateResourceShare,
ListPermissions, ...) keep working on them. Invitations and association
states live on the share. The accounts belong to the emulated AWS Organization
(`organizations/`): once the management account has called
EnableSharingWithAwsOrganization, a share to an account of the owner's organization
is associated without an invitation (and may be ORG-ONLY,
`allowExternalPrincipals=false`); any other account is external, refused by an
ORG-ONLY share, else invited. Its association reads ASSOCIATING until the
invitation is accepted; either way it then passes through the scheduler (kind
"ram.associate") to ASSOCIATED, and reads DISASSOCIATED once the share is deleted.

`associated_accounts()` is the in-process view the DataZone backend uses to
decide whether an account may use a domain.

Modules: `exceptions`, `models` (shares, invitations, associations), `responses`.
"""
