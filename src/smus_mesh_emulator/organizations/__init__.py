"""AWS Organizations as the emulated accounts need it: one organization, of any size.

Why: the member accounts have `OrganizationAccountAccessRole`, which only AWS
Organizations creates, so they must belong to an organization; RAM's rules for
ORG-ONLY shares (`allowExternalPrincipals=false`) and for sharing without
invitations depend on it (docs/adr: the organization ADR).

The base account (moto's default, 123456789012) is the management account of an
organization with every feature; `--accounts N` member accounts join it at each
reset, each with `OrganizationAccountAccessRole` (trusting the management account,
AdministratorAccess attached). The rest of moto's Organizations API works on it
unchanged, except:

* moto's organization set-up creates an IAM backend for a random account id (its
  master account object makes a role before it is given the real id); the seed
  builds the organization without it, so no phantom account shows in the inventory;
* `CreateAccount` is asynchronous as AWS documents: its `CreateAccountStatus` is
  IN_PROGRESS, then SUCCEEDED with the new `AccountId` (scheduler kind
  "organizations.create_account"); the account and its role exist from then on.
  A taken e-mail address ends FAILED with `EMAIL_ALREADY_EXISTS`. Only the
  management account may call it.

Modules: `models` (the organization, its accounts, account creation), `responses`.
"""
