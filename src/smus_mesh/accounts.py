"""One boto3 session per configured account: a named profile, an assumed role, or the default chain.

Assumed-role sessions refresh their credentials themselves (botocore's
`AssumeRoleCredentialFetcher` behind `DeferredRefreshableCredentials`), so a
long `up` (domain creation and environment deployment take many minutes)
never runs on expired keys. Credentials stay inside botocore: nothing here
logs, stores or prints them.

Every client a session creates, including the STS clients botocore builds to assume
a role and the `GetCallerIdentity` of `verify`, gets the one retry policy
(`retry_policy.client_config`) as the session's default client config: a throttled or
failed AssumeRole is retried like any other call, and a failure that outlives the
retries is reported as transient (exit 3), not as wrong credentials.

The endpoint is never chosen here: botocore honours `AWS_ENDPOINT_URL` (and
`AWS_ENDPOINT_URL_<SERVICE>`), which is how the emulator is selected.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import threading
import types
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.hooks
import botocore.regions
import botocore.session
from botocore.client import ClientCreator
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.endpoint_provider import EndpointProvider
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound
from botocore.hooks import EventAliaser, NodeList, _PrefixTrie
from botocore.model import ServiceModel
from botocore.utils import EVENT_ALIASES
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from smus_mesh.config import AccountConfig, Config
from smus_mesh.emulated import TEST_REGION, credential_exports, is_emulator
from smus_mesh.errors import AccountError, TransientError
from smus_mesh.retry_policy import client_config, describe_aws_error, is_transient

ROLE_SESSION_NAME = "smus-mesh"


@dataclass(frozen=True)
class Account:
    """A configured account: its alias in the config file and its id."""

    alias: str
    account_id: str


@functools.cache
def _data_loader() -> Any:
    """The process's one botocore data loader: a workspace built again in the same process
    (the test suite builds hundreds) finds every model it read before already parsed."""
    return botocore.session.get_session().get_component("data_loader")


#: (service, id of the loader's JSON model) -> its ServiceModel, which holds (pins) the JSON
_SHARED_MODELS: dict[tuple[str, int], ServiceModel] = {}
#: id of a model in _SHARED_MODELS -> its client class
_SHARED_CLASSES: dict[int, type] = {}
_SHARED_LOCK = threading.Lock()


@functools.cache
def _share_client_classes() -> None:
    """(ADR 23) Let every client made through the process's one loader share its service's
    `ServiceModel` and client class.

    botocore builds both again for every client: the class's methods with their
    docstrings, and the model's shapes, resolved again on each client's first call of an
    operation. The test suite makes thousands of clients (each in-process run, each
    account, each project's credentials) and spent about a tenth of its CPU there.
    Neither holds credentials, a region or an endpoint: the model is the parsed JSON,
    the class its methods, each of which calls `_make_api_call` of the client it is
    called on. The class is built once by botocore's own code, `creating-client-class`
    event included (the tool registers no handler for it); clients of sessions that
    read through another loader keep botocore's behaviour. Models are kept for the
    process's life, so an id in the caches is never reused."""
    load_model = ClientCreator._load_service_model
    create_class = ClientCreator._create_client_class

    def shared_model(self: Any, service_name: str, api_version: str | None = None) -> Any:
        if self._loader is not _data_loader():
            return load_model(self, service_name, api_version)
        json_model = self._loader.load_service_model(service_name, "service-2", api_version)
        key = (service_name, id(json_model))
        with _SHARED_LOCK:
            model = _SHARED_MODELS.get(key)
            if model is None:
                model = _SHARED_MODELS[key] = ServiceModel(json_model, service_name=service_name)
            return model

    def shared_class(self: Any, service_name: str, service_model: ServiceModel) -> Any:
        with _SHARED_LOCK:
            cls = _SHARED_CLASSES.get(id(service_model))
            shared = _SHARED_MODELS.get((service_name, id(service_model._service_description)))
        if cls is not None:
            return cls
        cls = create_class(self, service_name, service_model)
        if shared is service_model and self._loader is _data_loader():
            with _SHARED_LOCK:
                cls = _SHARED_CLASSES.setdefault(id(service_model), cls)
        return cls

    ClientCreator._load_service_model = shared_model
    ClientCreator._create_client_class = shared_class


#: (ids of the ruleset and partitions, excluded parameters) -> (provider, ruleset, partitions)
_PROVIDERS: dict[tuple[int, int, Any], tuple[EndpointProvider, Any, Any]] = {}
#: event name -> its name under botocore's default aliases (the same for every emitter)
_ALIASED_NAMES: dict[str, str] = {}


@functools.cache
def _share_event_work() -> None:
    """(ADR 34) Let botocore's event emitters share two pure computations process-wide.

    Every botocore session registers its ~150 built-in handlers, and every client
    copies its session's emitter and registers and emits dozens of event names: each
    name goes through `EventAliaser._alias_event_name` (a loop over the aliases that
    splits the name again per alias) with a cache that is new for every emitter, and
    each handler through `inspect.getfullargspec` (does it take **kwargs?). The test
    suite makes thousands of sessions and clients; this was a tenth of the tool's CPU.
    The alias of a name depends on the name and the alias table only: emitters with
    botocore's default table share one cache (entries are only ever added, each with
    the one value any thread would compute). Whether a plain function (or a bound
    method, or a partial of one) takes **kwargs is the `CO_VARKEYWORDS` flag of its
    code, which is what `getfullargspec` reads too; other callables, and functions
    that declare a `__signature__`, are inspected as before.

    Each client also builds its service's endpoint rules into objects again
    (`EndpointProvider`, a fifth of a client's creation): clients share the provider of
    the same ruleset and partitions (the loader's parsed JSON, held with the provider so
    their ids are never reused). A provider keeps no state of a client: it maps the
    parameters a client passes (region, endpoint URL, FIPS...) to an endpoint, and
    botocore already calls it from every thread of a client and caches its answers per
    parameters.

    And each client copies its session's handler trie (~190 nodes): botocore's generic
    `_PrefixTrie._recursive_copy` type-checks every key of every node; the copy here
    knows a node's three keys and makes the same structure (new dicts and handler lists,
    the same handlers) in under half the time."""
    aliaser_init = EventAliaser.__init__
    takes_kwargs = botocore.hooks.accepts_kwargs

    def shared_alias_cache(self: Any, event_emitter: Any, event_aliases: Any = None) -> None:
        aliaser_init(self, event_emitter, event_aliases)
        if event_aliases is None or event_aliases == EVENT_ALIASES:
            self._alias_name_cache = _ALIASED_NAMES

    def accepts_kwargs(func: Any) -> Any:
        target = func
        while type(target) is functools.partial and "__signature__" not in vars(target):
            target = target.func  # a partial takes **kwargs if its function does
        if type(target) is types.MethodType:
            target = target.__func__
        if type(target) is types.FunctionType and "__signature__" not in vars(target):
            return bool(target.__code__.co_flags & inspect.CO_VARKEYWORDS)
        return takes_kwargs(func)

    def copy_trie(self: Any) -> Any:
        copied = _PrefixTrie()
        copied._root = _copy_node(self._root)
        return copied

    def shared_provider(
        ruleset_data: Any, partition_data: Any, excluded_params: Any = None
    ) -> EndpointProvider:
        key = (id(ruleset_data), id(partition_data), frozenset(excluded_params or ()))
        with _SHARED_LOCK:
            known = _PROVIDERS.get(key)
        if known is not None:
            return known[0]
        provider = EndpointProvider(ruleset_data, partition_data, excluded_params)
        with _SHARED_LOCK:
            if len(_PROVIDERS) > 500:  # the data of loaders other than the shared one
                _PROVIDERS.clear()
            return _PROVIDERS.setdefault(key, (provider, ruleset_data, partition_data))[0]

    EventAliaser.__init__ = shared_alias_cache
    botocore.regions.EndpointProvider = shared_provider
    if set(vars(_PrefixTrie())) == {"_root"}:  # the layout this copy knows
        _PrefixTrie.__copy__ = copy_trie
    botocore.hooks.accepts_kwargs = accepts_kwargs


def _copy_node(node: dict[str, Any]) -> dict[str, Any]:
    """A copy of one node of botocore's `_PrefixTrie` and of its children, as
    `_PrefixTrie._recursive_copy` makes it."""
    values = node["values"]
    if type(values) is NodeList:
        values = NodeList(values.first.copy(), values.middle.copy(), values.last.copy())
    elif values is not None:
        values = copy.copy(values)
    return {
        "chunk": node["chunk"],
        "values": values,
        "children": {part: _copy_node(child) for part, child in node["children"].items()},
    }


def parse_timestamp(value: Any) -> datetime:
    """(ADR 41) The timestamp parser of every session made here: the same instant as
    botocore's `parse_timestamp`, read without dateutil. botocore reads an epoch number
    (every JSON service: DataZone, Glue, Lake Formation...) as a datetime in the machine's
    zone through dateutil's pure-Python `tzlocal` (a new one per value, and its `fromutc`),
    and an ISO 8601 string (IAM, STS, S3) through dateutil's generic parser. Here an epoch
    number is a datetime in UTC, and a date and time in UTC (`2026-12-04T10:36:07.123Z`,
    the form of every query and rest-xml service) is read by `datetime.fromisoformat`, in
    UTC as dateutil reads it. Anything else (an HTTP date, another offset, an epoch in a
    string, a value out of range) goes to botocore's parser, which reads or refuses it as
    before. The tool compares, sorts and subtracts these datetimes and prints them with
    their offset: an epoch's is `+00:00` now, where it was the machine's own."""
    kind = type(value)
    if kind is float or kind is int:
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    elif kind is str and _ISO_UTC.match(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    parsed: datetime = botocore_parse_timestamp(value)
    return parsed


#: A date and time in UTC as AWS writes one (fromisoformat reads more than dateutil would)
_ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z\Z")


def _read_timestamps_fast(session: botocore.session.Session) -> None:
    """Every parser of `session`'s clients reads timestamps with `parse_timestamp`."""
    factory = session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=parse_timestamp)


def new_session(**kwargs: Any) -> boto3.Session:
    """`boto3.Session(**kwargs)` reading botocore's data (service models, endpoints,
    partitions) through the process's one loader. The loader holds only that data, never
    credentials; a fresh loader would parse endpoints.json and each model again (the
    sessions that assume roles and those of project credentials did, ~20% of a run's CPU)."""
    _share_client_classes()
    _share_event_work()
    session = boto3.Session(**kwargs)
    session._session.register_component("data_loader", _data_loader())
    _read_timestamps_fast(session._session)
    return session


class SessionFactory:
    """Builds and caches one `boto3.Session` per account alias (thread safe).

    The sessions share one botocore data loader, so each service model is read and
    parsed once per process rather than once per account (the DataZone and EC2
    models are megabytes).
    """

    def __init__(self, config: Config, max_attempts: int = 10) -> None:
        self._config = config
        self._client_config = client_config(max_attempts)
        self._sessions: dict[str, boto3.Session] = {}
        self._lock = threading.Lock()
        #: source_profile -> the session roles are assumed from (one for every alias)
        self._sources: dict[str | None, boto3.Session] = {}
        #: (source profile, source credentials) -> the STS client AssumeRole is called with
        self._assume_clients: dict[tuple[str | None, str, str, str, str | None], Any] = {}
        self._assume_lock = threading.Lock()
        _share_client_classes()
        _share_event_work()

    @property
    def region(self) -> str:
        return self._config.region

    def accounts(self) -> list[Account]:
        return [
            Account(alias, self._config.accounts[alias].account_id)
            for alias in self._config.used_accounts()
        ]

    def session(self, alias: str) -> boto3.Session:
        with self._lock:
            if alias not in self._sessions:
                session = self._build(alias, self._config.accounts[alias])
                session._session.register_component("data_loader", _data_loader())
                _read_timestamps_fast(session._session)
                self._sessions[alias] = session
            return self._sessions[alias]

    def _build(self, alias: str, account: AccountConfig) -> boto3.Session:
        region = self._config.region
        try:
            if account.profile:
                profile = new_session(profile_name=account.profile, region_name=region)
                return self._retrying(profile)
            if not account.role_arn:
                return self._retrying(new_session(region_name=region))
            source = self._source(account.source_profile)
        except ProfileNotFound as exc:
            raise AccountError(f"accounts.{alias}: {exc}") from None
        credentials = source.get_credentials()
        if credentials is None:
            # botocore would fail later, inside the credential fetcher, with an AttributeError.
            origin = "the default credential chain"
            if account.source_profile:
                origin = f"profile {account.source_profile!r}"
            raise AccountError(
                f"accounts.{alias}: no credentials to assume {account.role_arn} with: "
                f"{origin} found none ({_what_to_set(source)})"
            )
        extra: dict[str, str] = {"RoleSessionName": ROLE_SESSION_NAME}
        if account.external_id:
            extra["ExternalId"] = account.external_id
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=functools.partial(self._assume_client, account.source_profile, source),
            source_credentials=credentials,
            role_arn=account.role_arn,
            extra_args=extra,
        )
        core = botocore.session.Session()
        core.set_default_client_config(self._client_config)
        core._credentials = DeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials, method="assume-role"
        )
        core.set_config_variable("region", region)
        return boto3.Session(botocore_session=core)

    def _source(self, profile: str | None) -> boto3.Session:
        """The session roles are assumed from: one per source profile, shared by every
        alias that names it (called under `_lock`)."""
        if profile not in self._sources:
            self._sources[profile] = self._retrying(
                new_session(profile_name=profile, region_name=self._config.region)
            )
        return self._sources[profile]

    def _assume_client(
        self,
        profile: str | None,
        source: boto3.Session,
        service_name: str,
        aws_access_key_id: str,
        aws_secret_access_key: str,
        aws_session_token: str | None = None,
    ) -> Any:
        """The STS client botocore's `AssumeRoleCredentialFetcher` asks for each time it
        assumes a role, made once per source credentials: the aliases that assume a role
        from the same credentials share one (a client is thread safe), instead of one
        made and thrown away per alias and refresh. New source credentials (a refreshed
        source) get a client of their own."""
        key = (profile, service_name, aws_access_key_id, aws_secret_access_key, aws_session_token)
        with self._assume_lock:
            client = self._assume_clients.get(key)
            if client is None:
                client = self._assume_clients[key] = source._session.create_client(
                    service_name,
                    aws_access_key_id=aws_access_key_id,
                    aws_secret_access_key=aws_secret_access_key,
                    aws_session_token=aws_session_token,
                )
            return client

    def close(self) -> None:
        """Close the connections of the STS clients roles were assumed with (see
        `Clients.close`); a later refresh of a role's credentials opens a new one."""
        with self._assume_lock:
            clients = list(self._assume_clients.values())
        for client in clients:
            client.close()

    def _retrying(self, session: boto3.Session) -> boto3.Session:
        """`session`, whose clients (those of its credential providers too) retry by policy."""
        session._session.set_default_client_config(self._client_config)
        return session

    def verify(
        self, alias: str, caller_identity: Callable[[], Mapping[str, Any]] | None = None
    ) -> str:
        """Check that the credentials reach the configured account; return the caller ARN.
        `caller_identity` answers GetCallerIdentity for `alias` (the run's own STS client,
        `Clients.caller_identity`); without it, a client is made for this one call."""
        expected = self._config.accounts[alias].account_id
        try:
            if caller_identity is None:
                identity = self.session(alias).client("sts").get_caller_identity()
            else:
                identity = caller_identity()
        except (ClientError, BotoCoreError) as exc:
            detail = describe_aws_error(exc)
            if is_transient(exc):
                raise TransientError(
                    f"accounts.{alias}: AWS kept failing while reaching account {expected} "
                    f"({detail}), after every retry; nothing was changed: run it again"
                ) from None
            raise AccountError(
                f"accounts.{alias}: cannot get credentials for account {expected}: {detail}"
            ) from None
        if identity["Account"] != expected:
            raise AccountError(
                f"accounts.{alias}: the credentials reach account {identity['Account']}, "
                f"not {expected} (check profile / role_arn)"
            )
        return str(identity["Arn"])


def _what_to_set(session: boto3.Session) -> str:
    """What to do about missing credentials: against the local emulator (the endpoint
    answers its admin API), the test keys to export; otherwise AWS credentials."""
    # The endpoint the AssumeRole would go to, however configured (AWS_ENDPOINT_URL,
    # AWS_ENDPOINT_URL_STS, the profile's endpoint_url); AWS's own is never asked.
    endpoint = session.client("sts").meta.endpoint_url
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    if not host.endswith((".amazonaws.com", ".amazonaws.com.cn")) and is_emulator(endpoint):
        return (
            f"{endpoint} is the smus-mesh emulator, which takes any keys: "
            f"{credential_exports(session.region_name or TEST_REGION)}"
        )
    return "set AWS credentials, a profile or source_profile"
