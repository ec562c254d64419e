"""Stand-in resource provider plugins: test doubles for end-to-end tests only, never used against real accounts.

The real `pulumi-resource-aws` and `pulumi-resource-kubernetes` plugins cannot be installed on the test
machines, so the executables beside this file stand in for them. The Pulumi engine finds them on PATH as
ambient plugins (for any requested version, with a warning), starts one process per provider, reads the
port from the first line of stdout and speaks the ResourceProvider gRPC protocol to 127.0.0.1:<port>.
Nothing here talks to AWS or Kubernetes: every answer is computed from the request.

What they answer:

- GetPluginInfo: the version of the installed `pulumi_aws` / `pulumi_kubernetes` Python package.
- Handshake, Configure: secrets, resource references and previews accepted (output values are not).
  Configure records the AWS region and the allowed/forbidden account ids. The "account" whose
  credentials the stand-in pretends to hold is `$PULUMI_STAND_IN_AWS_ACCOUNT_ID`, else the first allowed
  id, else 123456789012; like the real provider, Configure fails when that account is not allowed.
- CheckConfig and Check: the inputs as given, no failures (a missing AWS secret name or Kubernetes
  `metadata.name` is filled in from the engine's proposed name, as the real providers autoname).
- DiffConfig: a change only when the settings that pick the target change (AWS: region, allowed and
  forbidden account ids; Kubernetes: kubeconfig, context, cluster, namespace); never a replacement.
- Diff: the new inputs against the old inputs (the old outputs when the engine sends no old inputs),
  key by key, secrets compared by value. Like the real providers, a change of what identifies the
  object is a replacement (AWS secret: `name`, `namePrefix`; secret version: `secretId`; Kubernetes:
  `apiVersion`, `kind`, `metadata.name`, `metadata.namespace`); every other change is an update.
- Create and Update: the inputs as outputs (secrets stay secret), plus what the program reads:
  a secret's `arn` (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 letters>`, also its id,
  as the real provider's), `region`, `tagsAll`; a secret version's `arn`, `versionId` (derived from the
  secret id and the secret string: a new string gives a new version), `versionStages` and the id
  `<secret id>|<version id>`; Kubernetes objects echo their inputs, with the id `<namespace>/<name>`.
  In a preview the computed values are unknown, as the real providers leave them.
- Read (refresh): the recorded state and inputs as they are, i.e. nothing drifted.
- Read (import, only an id): what `$PULUMI_STAND_IN_EXISTING` (a JSON file `{id: {property: value}}`) says
  about that id, merged over, for an AWS secret, the name and ARN that an ARN or name id gives;
  otherwise "not found".
- Delete and Cancel: succeed. Everything else (Invoke, Call, Construct, GetSchema, ...): Unimplemented.

Every call is appended to the JSON-lines log `$PULUMI_STAND_IN_LOG` when that variable is set (one object
per line, flushed): plugin, method, type, name, urn, id, preview, inputs, secret_inputs,
secret_fingerprints, result (what the call answered, e.g. a Diff's changed keys, or {"error": ...} for a call
that failed). Secret values are never written: `inputs` carries "[secret]" in their place
(unknown values show as "[unknown]"), `secret_inputs` names the top-level keys that held a secret, and
`secret_fingerprints` maps each such key to the first 16 hex digits of the SHA-256 of its plain value
(a string as is, anything else as compact JSON with sorted keys), so a test can see a secret change
without seeing it.
"""

# ruff: noqa: N802 - the servicer's methods carry the gRPC method names (GetPluginInfo, Check, ...)

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import sys
import threading
import traceback
import uuid
from collections.abc import Callable
from concurrent import futures
from typing import Any, TypeVar

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

# The engine's wire encoding of special values inside a google.protobuf.Struct (sdk/go/common/resource/sig).
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

PACKAGES = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes"}
AWS_SECRET = "aws:secretsmanager/secret:Secret"
AWS_SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

# Settings whose change points a provider at another target: DiffConfig reports only these.
TARGET_SETTINGS = {
    "aws": ("region", "allowedAccountIds", "forbiddenAccountIds"),
    "kubernetes": ("kubeconfig", "context", "cluster", "namespace"),
}
# Inputs that identify the object: changing one replaces it, as with the real providers.
AWS_REPLACE_KEYS = {AWS_SECRET: ("name", "namePrefix"), AWS_SECRET_VERSION: ("secretId",)}
K8S_REPLACE_KEYS = ("apiVersion", "kind")
K8S_REPLACE_METADATA = ("name", "namespace")

LOG_ENV = "PULUMI_STAND_IN_LOG"
ACCOUNT_ENV = "PULUMI_STAND_IN_AWS_ACCOUNT_ID"
EXISTING_ENV = "PULUMI_STAND_IN_EXISTING"

Props = dict[str, Any]
Request = TypeVar("Request")
Response = TypeVar("Response")


class StandInError(Exception):
    """Ends a call with a gRPC status; the message must never carry a secret value."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- values on the wire -------------------------------------------------------------------------------


def is_secret(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    sig = value.get(SIG_KEY)
    return sig == SECRET_SIG or (sig == OUTPUT_VALUE_SIG and bool(value.get("secret")))


def contains_secret(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_secret(item) for item in value)
    return False


def plain(value: Any) -> Any:
    """The value with secret and output-value wrappers removed (an output value without one: unknown)."""
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return plain(value.get("value"))
        if sig == OUTPUT_VALUE_SIG:
            return plain(value["value"]) if "value" in value else UNKNOWN
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def has_unknown(value: Any) -> bool:
    value = plain(value)
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(has_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(has_unknown(item) for item in value)
    return False


def redact(value: Any) -> Any:
    """The value as the log shows it: "[secret]" for each secret, "[unknown]" for each unknown."""
    if is_secret(value):
        return "[secret]"
    if isinstance(value, dict):
        if value.get(SIG_KEY) == OUTPUT_VALUE_SIG:
            return redact(value["value"]) if "value" in value else "[unknown]"
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    if value == UNKNOWN:
        return "[unknown]"
    return value


def fingerprint(value: Any) -> str:
    """First 16 hex digits of the SHA-256 of the plain value: a string as is, anything else as JSON."""
    value = plain(value)
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def to_props(struct: struct_pb2.Struct) -> Props:
    props: Props = json_format.MessageToDict(struct)
    return props


def to_struct(props: Props) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(props)
    return struct


def json_setting(value: Any) -> Any:
    """A provider setting as sent: explicit providers send non-string settings as JSON text."""
    value = plain(value)
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def split_urn(urn: str) -> tuple[str, str]:
    """The resource type and name in `urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`."""
    parts = urn.split("::")
    if len(parts) < 4:
        return "", ""
    return parts[2].split("$")[-1], "::".join(parts[3:])


def short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:length]


def _identity_changed(old_metadata: Any, new_metadata: Any) -> bool:
    """Whether a Kubernetes object's name or namespace changed (or cannot be known yet)."""
    if not isinstance(old_metadata, dict) or not isinstance(new_metadata, dict):
        return True
    return any(old_metadata.get(key) != new_metadata.get(key) for key in K8S_REPLACE_METADATA)


# --- the plugin ---------------------------------------------------------------------------------------


def _handler(method: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Turns StandInError and unexpected errors into gRPC statuses, without echoing any value."""

    def wrap(fn: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(fn)
        def call(self: StandInProvider, request: Any, context: grpc.ServicerContext) -> Response:
            try:
                return fn(self, request, context)
            except StandInError as error:
                message, code = error.message, error.code
            except Exception as error:
                # The type and the line only: an exception's message could quote a value.
                where = traceback.extract_tb(error.__traceback__)[-1]
                message, code = f"{type(error).__name__} at line {where.lineno}", grpc.StatusCode.UNKNOWN
                sys.stderr.write(f"stand-in {self.plugin}: {method} failed: {message}\n")
            urn, id_ = str(getattr(request, "urn", "")), str(getattr(request, "id", ""))
            self.record(method, urn=urn, id_=id_, result={"error": message})
            context.abort(code, f"stand-in {self.plugin} plugin, {method}: {message}")
            raise AssertionError("unreachable: abort raises")

        return call

    return wrap


class StandInProvider(provider_pb2_grpc.ResourceProviderServicer):
    """One provider instance, as the engine starts one plugin process per provider resource."""

    def __init__(self, plugin: str) -> None:
        if plugin not in PACKAGES:
            raise ValueError(f"unknown stand-in plugin {plugin!r}; expected one of {sorted(PACKAGES)}")
        self.plugin = plugin
        self._lock = threading.Lock()
        self.config: Props = {}
        self.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        self.account = os.environ.get(ACCOUNT_ENV) or DEFAULT_ACCOUNT

    # -- the log ----------------------------------------------------------------------------------------

    def record(
        self,
        method: str,
        *,
        urn: str = "",
        id_: str = "",
        preview: bool = False,
        inputs: Props | None = None,
        result: Props | None = None,
    ) -> None:
        path = os.environ.get(LOG_ENV)
        if not path:
            return
        type_, name = split_urn(urn)
        inputs = inputs or {}
        secret_keys = sorted(key for key, value in inputs.items() if contains_secret(value))
        entry = {
            "plugin": self.plugin,
            "method": method,
            "type": type_,
            "name": name,
            "urn": urn,
            "id": id_,
            "preview": preview,
            "inputs": redact(inputs),
            "secret_inputs": secret_keys,
            "secret_fingerprints": {key: fingerprint(inputs[key]) for key in secret_keys},
            "result": redact(result or {}),
        }
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self._lock, open(path, "a", encoding="utf-8") as log:
            log.write(line)
            log.flush()

    # -- plugin and protocol ----------------------------------------------------------------------------

    @_handler("GetPluginInfo")
    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> Any:
        version = importlib.metadata.version(PACKAGES[self.plugin])
        self.record("GetPluginInfo", result={"version": version})
        return plugin_pb2.PluginInfo(version=version)

    @_handler("Handshake")
    def Handshake(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.record("Handshake", result={"configure_with_urn": request.configure_with_urn})
        return provider_pb2.ProviderHandshakeResponse(accept_secrets=True, accept_resources=True, accept_outputs=False)

    @_handler("CheckConfig")
    def CheckConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        news = to_props(request.news)
        self.record("CheckConfig", urn=request.urn, inputs=news)
        return provider_pb2.CheckResponse(inputs=to_struct(news))

    @_handler("DiffConfig")
    def DiffConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        olds = to_props(request.old_inputs) if request.HasField("old_inputs") else to_props(request.olds)
        news = to_props(request.news)
        diffs = [
            key
            for key in TARGET_SETTINGS[self.plugin]
            if has_unknown(news.get(key)) or json_setting(olds.get(key)) != json_setting(news.get(key))
        ]
        changes = provider_pb2.DiffResponse.DIFF_SOME if diffs else provider_pb2.DiffResponse.DIFF_NONE
        self.record("DiffConfig", urn=request.urn, id_=request.id, inputs=news, result={"diffs": diffs})
        return provider_pb2.DiffResponse(changes=changes, diffs=diffs)

    @_handler("Configure")
    def Configure(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.HasField("args"):
            config = to_props(request.args)
        else:  # engines before `args`: "<pkg>:config:<key>" -> text
            prefix = f"{self.plugin}:config:"
            config = {key.removeprefix(prefix): value for key, value in request.variables.items()}
        self.config = config
        result: Props = {}
        if self.plugin == "aws":
            result = self._configure_aws(config)
        self.record("Configure", urn=request.urn, id_=request.id, inputs=config, result=result)
        return provider_pb2.ConfigureResponse(
            acceptSecrets=True, supportsPreview=True, acceptResources=True, acceptOutputs=False
        )

    def _configure_aws(self, config: Props) -> Props:
        region = json_setting(config.get("region"))
        if isinstance(region, str) and region:
            self.region = region
        allowed = [str(item) for item in json_setting(config.get("allowedAccountIds")) or []]
        forbidden = [str(item) for item in json_setting(config.get("forbiddenAccountIds")) or []]
        self.account = os.environ.get(ACCOUNT_ENV) or (allowed[0] if allowed else DEFAULT_ACCOUNT)
        # The real provider's refusals, word for word.
        if allowed and self.account not in allowed:
            raise StandInError(grpc.StatusCode.UNKNOWN, f"AWS account ID not allowed: {self.account}")
        if self.account in forbidden:
            raise StandInError(grpc.StatusCode.UNKNOWN, f"AWS account ID forbidden: {self.account}")
        return {"region": self.region, "account": self.account, "allowedAccountIds": allowed}

    def Cancel(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.record("Cancel")
        return empty_pb2.Empty()

    # -- resources --------------------------------------------------------------------------------------

    @_handler("Check")
    def Check(self, request: Any, context: grpc.ServicerContext) -> Any:
        news = to_props(request.news)
        type_, name = split_urn(request.urn)
        proposed = request.autonaming.proposed_name if request.HasField("autonaming") else ""
        suffix = request.randomSeed.hex()[:7] if request.randomSeed else short_hash(request.urn, length=7)
        autoname = proposed or f"{name}-{suffix}"
        if type_ == AWS_SECRET and "name" not in news and "namePrefix" not in news:
            news["name"] = autoname
        if self.plugin == "kubernetes":
            metadata = news.get("metadata")
            if isinstance(metadata, dict) and "name" not in metadata:
                news["metadata"] = {**metadata, "name": autoname.lower()}
        self.record("Check", urn=request.urn, inputs=news)
        return provider_pb2.CheckResponse(inputs=to_struct(news))

    @_handler("Diff")
    def Diff(self, request: Any, context: grpc.ServicerContext) -> Any:
        olds = to_props(request.old_inputs) if request.HasField("old_inputs") else {}
        if not olds:  # engines that send no old inputs: the old outputs, on the keys the inputs have
            outputs = to_props(request.olds)
            olds = {key: outputs[key] for key in to_props(request.news) if key in outputs}
        news = to_props(request.news)
        ignored = set(request.ignoreChanges)
        diffs = sorted(
            key
            for key in set(olds) | set(news)
            if key not in ignored and (has_unknown(news.get(key)) or plain(olds.get(key)) != plain(news.get(key)))
        )
        replaces = self._replace_keys(split_urn(request.urn)[0], olds, news, diffs)
        changes = provider_pb2.DiffResponse.DIFF_SOME if diffs else provider_pb2.DiffResponse.DIFF_NONE
        result: Props = {
            "changes": "DIFF_SOME" if diffs else "DIFF_NONE",
            "diffs": diffs,
            "replaces": replaces,
        }
        self.record("Diff", urn=request.urn, id_=request.id, inputs=news, result=result)
        return provider_pb2.DiffResponse(changes=changes, diffs=diffs, replaces=replaces)

    def _replace_keys(self, type_: str, olds: Props, news: Props, diffs: list[str]) -> list[str]:
        if self.plugin == "aws":
            return [key for key in AWS_REPLACE_KEYS.get(type_, ()) if key in diffs]
        replaces = [key for key in K8S_REPLACE_KEYS if key in diffs]
        if "metadata" in diffs and _identity_changed(plain(olds.get("metadata")), plain(news.get("metadata"))):
            replaces.append("metadata")
        return replaces

    @_handler("Create")
    def Create(self, request: Any, context: grpc.ServicerContext) -> Any:
        inputs = to_props(request.properties)
        type_, name = split_urn(request.urn)
        id_, outputs = self._outputs(type_, name, inputs, {}, preview=request.preview)
        self.record("Create", urn=request.urn, id_=id_, preview=request.preview, inputs=inputs, result={"id": id_})
        return provider_pb2.CreateResponse(id=id_, properties=to_struct(outputs))

    @_handler("Update")
    def Update(self, request: Any, context: grpc.ServicerContext) -> Any:
        news = to_props(request.news)
        type_, name = split_urn(request.urn)
        _, outputs = self._outputs(type_, name, news, to_props(request.olds), preview=request.preview)
        self.record("Update", urn=request.urn, id_=request.id, preview=request.preview, inputs=news)
        return provider_pb2.UpdateResponse(properties=to_struct(outputs))

    def _outputs(self, type_: str, name: str, inputs: Props, olds: Props, *, preview: bool) -> tuple[str, Props]:
        """The id (empty in a preview) and the outputs: the inputs plus what the real provider computes."""
        if type_ == AWS_SECRET:
            return self._secret_outputs(inputs, olds, preview=preview)
        if type_ == AWS_SECRET_VERSION:
            return self._secret_version_outputs(inputs, olds, preview=preview)
        if self.plugin == "kubernetes":
            metadata = plain(inputs.get("metadata"))
            if preview or not isinstance(metadata, dict) or has_unknown(metadata):
                return "", dict(inputs)
            object_name = str(metadata.get("name", name))
            namespace = metadata.get("namespace")
            return (f"{namespace}/{object_name}" if namespace else object_name), dict(inputs)
        return ("" if preview else f"{name}-{short_hash(type_, name)}"), dict(inputs)

    def _secret_outputs(self, inputs: Props, olds: Props, *, preview: bool) -> tuple[str, Props]:
        region = plain(inputs.get("region")) or self.region
        secret_name = plain(inputs.get("name"))
        outputs = {**inputs, "region": region, "tagsAll": inputs.get("tags", {})}
        if "arn" in olds:  # an update: the name is the same (a new name is a replacement), so is the ARN
            outputs["arn"] = olds["arn"]
        elif preview or not isinstance(secret_name, str) or has_unknown(secret_name):
            outputs["arn"] = UNKNOWN
        else:
            outputs["arn"] = self.secret_arn(str(region), secret_name)
        return ("" if preview else str(outputs["arn"])), outputs

    def _secret_version_outputs(self, inputs: Props, olds: Props, *, preview: bool) -> tuple[str, Props]:
        secret_id = plain(inputs.get("secretId"))
        outputs = {**inputs, "region": plain(inputs.get("region")) or self.region}
        if preview or has_unknown(secret_id) or has_unknown(inputs.get("secretString")):
            outputs.update(arn=olds.get("arn", UNKNOWN), versionId=UNKNOWN, versionStages=UNKNOWN)
            return "", outputs
        content = fingerprint(inputs.get("secretString")) + fingerprint(inputs.get("secretBinary"))
        version_id = str(uuid.UUID(hashlib.sha256(f"{secret_id}\0{content}".encode()).hexdigest()[:32]))
        arn = secret_id if str(secret_id).startswith("arn:") else self.secret_arn(str(outputs["region"]), secret_id)
        outputs.update(arn=arn, versionId=version_id, versionStages=["AWSCURRENT"])
        return f"{secret_id}|{version_id}", outputs

    def secret_arn(self, region: str, secret_name: str) -> str:
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        digest = hashlib.sha256(f"{region}:{self.account}:{secret_name}".encode()).digest()
        suffix = "".join(letters[byte % len(letters)] for byte in digest[:6])
        return f"arn:aws:secretsmanager:{region}:{self.account}:secret:{secret_name}-{suffix}"

    @_handler("Read")
    def Read(self, request: Any, context: grpc.ServicerContext) -> Any:
        state = to_props(request.properties)
        inputs = to_props(request.inputs) if request.HasField("inputs") else {}
        if state or inputs:  # a refresh (or a `get` with state): nothing drifted
            self.record("Read", urn=request.urn, id_=request.id, inputs=inputs or state, result={"found": True})
            return provider_pb2.ReadResponse(
                id=request.id, properties=to_struct(state or inputs), inputs=to_struct(inputs or state)
            )
        found = self._existing(split_urn(request.urn)[0], request.id)
        self.record("Read", urn=request.urn, id_=request.id, inputs={}, result={"found": found is not None})
        if found is None:
            return provider_pb2.ReadResponse()  # the engine's "does not exist"
        id_, outputs, found_inputs = found
        return provider_pb2.ReadResponse(id=id_, properties=to_struct(outputs), inputs=to_struct(found_inputs))

    def _existing(self, type_: str, id_: str) -> tuple[str, Props, Props] | None:
        """What an import finds for an id: the seed file's properties, over what the id itself tells."""
        seeded: Props | None = None
        path = os.environ.get(EXISTING_ENV)
        if path:
            with open(path, encoding="utf-8") as seed:
                seeded = json.load(seed).get(id_)
        if type_ == AWS_SECRET:
            arn, secret_name = self._secret_from_id(id_)
            inputs = {"name": secret_name, **(seeded or {})}
            inputs.pop("arn", None)
            outputs = {**inputs, "arn": arn, "region": self.region, "tagsAll": inputs.get("tags", {})}
            return arn, outputs, inputs
        if seeded is None:
            return None
        return id_, dict(seeded), dict(seeded)

    def _secret_from_id(self, id_: str) -> tuple[str, str]:
        """An ARN (`...:secret:<name>-AbCdEf`) or a name -> (ARN, name)."""
        if id_.startswith("arn:"):
            resource = id_.split(":secret:", 1)[-1]
            head, _, tail = resource.rpartition("-")
            secret_name = head if head and len(tail) == 6 else resource
            return id_, secret_name
        return self.secret_arn(self.region, id_), id_

    @_handler("Delete")
    def Delete(self, request: Any, context: grpc.ServicerContext) -> empty_pb2.Empty:
        inputs = to_props(request.old_inputs) if request.HasField("old_inputs") else to_props(request.properties)
        self.record("Delete", urn=request.urn, id_=request.id, inputs=inputs)
        return empty_pb2.Empty()

    # -- not implemented --------------------------------------------------------------------------------

    def _unimplemented(self, method: str, context: grpc.ServicerContext, detail: str = "") -> Any:
        self.record(method, result={"detail": detail} if detail else None)
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented by the stand-in {self.plugin} plugin"
        )

    def GetSchema(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unimplemented("GetSchema", context)

    def Parameterize(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unimplemented("Parameterize", context)

    def Invoke(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unimplemented("Invoke", context, request.tok)

    def Call(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unimplemented("Call", context, request.tok)

    def Construct(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unimplemented("Construct", context, request.type)

    def List(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unimplemented("List", context)

    def Attach(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unimplemented("Attach", context)

    def GetMapping(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unimplemented("GetMapping", context, request.key)

    def GetMappings(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unimplemented("GetMappings", context, request.key)


def serve(plugin: str) -> grpc.Server:
    """Starts the server on 127.0.0.1 and prints the port, the engine's signal that the plugin is ready."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(StandInProvider(plugin), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    return server


def main(argv: list[str]) -> int:
    """`plugin.py <aws|kubernetes> [engine address and flags, ignored]`."""
    if not argv or argv[0] not in PACKAGES:
        sys.stderr.write(f"usage: plugin.py <{'|'.join(sorted(PACKAGES))}> [engine-address]\n")
        return 2
    server = serve(argv[0])
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
