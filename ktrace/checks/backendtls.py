"""BackendTLSPolicy checks: CA certificate refs that do not exist, policies that conflict on one Service port,
and, live, what the Gateway controller reported in the policy's status. Shared with the tracer, which reports
the applied policy's on the Service hop of Gateway paths."""

from __future__ import annotations

from ktrace.backendtls import PolicyGroup, ca_exists, groups
from ktrace.checks.gateway import quoted_conditions
from ktrace.findings import Finding
from ktrace.gateway import knowable
from ktrace.model import BackendTLSPolicy
from ktrace.rules import Rule, produces, register
from ktrace.store import ClusterStore

CA_MISSING = register(Rule(
    "backendtlspolicy-ca-missing", "error",
    "A BackendTLSPolicy's caCertificateRefs name a ConfigMap or Secret that does not exist in its namespace: "
    "connections to the Services it targets fail (the Gateway answers 5xx)."))
CONFLICTED = register(Rule(
    "backendtlspolicy-conflicted", "warning",
    "Two or more BackendTLSPolicies target the same Service (and sectionName): the oldest applies, then the first "
    "by name; the others are not applied."))
NOT_ACCEPTED = register(Rule(
    "backendtlspolicy-not-accepted", "warning",
    "The Gateway controller reports a BackendTLSPolicy not Accepted (live; its reason quoted)."))
TARGET_MISSING = register(Rule(
    "backendtlspolicy-target-missing", "warning",
    "A BackendTLSPolicy's targetRef names a Service that does not exist in its namespace, or a sectionName that "
    "is no port name of the Service: the policy attaches there to nothing, and configures no connection.",
    needs=("Service",)))
REFS_UNRESOLVED = register(Rule(
    "backendtlspolicy-refs-unresolved", "warning",
    "The Gateway controller reports a BackendTLSPolicy's ResolvedRefs false (live; its reason quoted)."))

_CONDITIONS = {"Accepted": (NOT_ACCEPTED, "not accepted"), "ResolvedRefs": (REFS_UNRESOLVED, "references unresolved")}


def _target(group: PolicyGroup) -> str:
    return f"Service {group.service}" + (f" port {group.section}" if group.section else "")


@produces(CA_MISSING)
def ca_findings(store: ClusterStore, policy: BackendTLSPolicy) -> list[Finding]:
    """caCertificateRefs are local: a ConfigMap or Secret of the policy's own namespace (metadata only: ktrace
    knows it exists, not that it holds `ca.crt`)."""
    ns, name = policy.meta.key
    out = []
    for ref in policy.ca_refs:
        if ca_exists(store, ns, ref) is not False:
            continue
        elsewhere = sorted(store.namespaces_with(ref.kind, ref.name) - {ns})
        hint = (f"it exists in namespace {', '.join(elsewhere)}: caCertificateRefs are read from the policy's own "
                f"namespace: copy it to {ns!r}" if elsewhere else
                f"create {ref.kind} {ref.name!r} (with the CA certificate in key ca.crt) in namespace {ns!r}, or fix "
                "the name")
        out.append(CA_MISSING.finding("BackendTLSPolicy", ns, name,
                                      f"CA certificate {ref.kind} {ref.name!r} does not exist in namespace {ns!r}",
                                      hint, ca_kind=ref.kind, ca_name=ref.name, namespaces_with_ca=elsewhere))
    return out


@produces(TARGET_MISSING)
def target_findings(store: ClusterStore, policy: BackendTLSPolicy, *, live: bool) -> list[Finding]:
    """Each targetRef to a Service (the kind BackendTLSPolicy targets) that resolves to nothing: the Service is
    missing from the policy's namespace, or has no port of the sectionName ("If a SectionName is specified, but
    does not exist on the targeted object, the Policy must fail to attach")."""
    ns, name = policy.meta.key
    if not knowable(store, ns, live):
        return []
    out = []
    for t in dict.fromkeys(policy.targets):
        if t.group != "" or t.kind != "Service":
            continue
        svc = store.service(ns, t.name)
        if svc is None:
            why = f"targetRef Service {t.name!r} does not exist in namespace {ns!r}"
            hint = f"create Service {t.name!r} in namespace {ns!r}, or fix the targetRef's name"
        elif t.section and all(p.name != t.section for p in svc.ports):
            named = [p.name for p in svc.ports if p.name]
            why = f"targetRef Service {t.name} has no port named {t.section!r}"
            hint = f"set sectionName to a port name of the Service ({', '.join(named) or 'its ports have no names'})"
        else:
            continue
        out.append(TARGET_MISSING.finding("BackendTLSPolicy", ns, name, f"{why}: the policy attaches to nothing there",
                                          hint, service=t.name, section=t.section or None))
    return out


@produces(CONFLICTED)
def conflict_findings(group: PolicyGroup) -> list[Finding]:
    """Each policy of the group but the one that applies."""
    won = group.applied
    return [CONFLICTED.finding("BackendTLSPolicy", p.meta.namespace, p.meta.name,
                               f"{p.meta.name} and {won.meta.name} both target {_target(group)}: {won.meta.name} "
                               f"applies ({'older' if p.created != won.created else 'first by name'}), "
                               f"{p.meta.name} is not applied",
                               "remove one of the policies, or target different ports (sectionName)",
                               service=group.service, section=group.section or None, applied=won.meta.name)
            for p in group.conflicted]


@produces(NOT_ACCEPTED, REFS_UNRESOLVED)
def status_findings(policy: BackendTLSPolicy) -> list[Finding]:
    """What each Gateway controller reported for the policy (live only: a file's status is stale), quoted."""
    return quoted_conditions(policy.meta, policy.ancestors, _CONDITIONS, "ancestor")


def check_backend_tls_policies(store: ClusterStore, *, live: bool) -> list[Finding]:
    out: list[Finding] = []
    for policy in store.objects("BackendTLSPolicy"):
        assert isinstance(policy, BackendTLSPolicy)
        out += ca_findings(store, policy) + target_findings(store, policy, live=live)
        if live:
            out += status_findings(policy)
    for group in groups(store):
        out += conflict_findings(group)
    return out
