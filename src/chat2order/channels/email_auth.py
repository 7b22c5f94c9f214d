"""Who really sent an email: SPF (pyspf), DKIM (dkimpy) and DMARC (authheaders), with injectable DNS.

Every DNS question goes through a `Resolver`, so tests and offline runs answer from a table
(`StaticResolver`) and production asks real DNS with a short deadline (`DnsResolver`). The results are
recorded on the stored message (`meta["auth"]`) as an RFC 8601 Authentication-Results value plus a one-word
`verdict`:

- `pass`: the From domain is vouched for (DMARC pass, or an SPF or DKIM pass aligned with the From domain);
- `fail`: the domain says the message is not theirs (DMARC fail, SPF fail/softfail, a broken DKIM signature);
- `none`: nothing could be checked (no records, no signature, DNS trouble).

Holding unverified mail from a known restaurant for review is decided by the intake (it knows the contacts).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


class DnsTempError(Exception):
    """DNS could not answer now (timeout, server failure): results become `temperror`."""


class Resolver(Protocol):
    def lookup(self, name: str, rdtype: str) -> list[str]:
        """Records of `rdtype` (TXT, A, AAAA, MX, PTR) for `name`; [] when none exist.

        TXT: one string per record (chunks joined); A/AAAA: addresses; MX: "preference host"; PTR: host names.
        """
        ...


class StaticResolver:
    """Answers from a table: tests, and offline runs where no DNS must be asked (everything else: none)."""

    def __init__(self, records: dict[tuple[str, str], list[str]] | None = None) -> None:
        self.records = {(name.lower().rstrip("."), rdtype.upper()): list(values)
                        for (name, rdtype), values in (records or {}).items()}
        self.asked: list[tuple[str, str]] = []

    def lookup(self, name: str, rdtype: str) -> list[str]:
        key = (name.lower().rstrip("."), rdtype.upper())
        self.asked.append(key)
        return list(self.records.get(key, []))


class DnsResolver:
    """Real DNS through dnspython, each question bounded by `lifetime` seconds."""

    def __init__(self, lifetime: float = 3.0) -> None:
        import dns.resolver

        self._resolver = dns.resolver.Resolver()
        self._resolver.lifetime = lifetime

    def lookup(self, name: str, rdtype: str) -> list[str]:
        import dns.exception
        import dns.resolver

        try:
            answer = self._resolver.resolve(name, rdtype)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration) as exc:
            raise DnsTempError(str(exc)) from exc
        if rdtype == "TXT":
            return [b"".join(r.strings).decode("utf-8", errors="replace") for r in answer]
        if rdtype == "MX":
            return [f"{r.preference} {r.exchange.to_text(omit_final_dot=True)}" for r in answer]
        if rdtype == "PTR":
            return [r.target.to_text(omit_final_dot=True) for r in answer]
        return [r.to_text() for r in answer]


@dataclass(frozen=True)
class AuthResults:
    spf: str
    dkim: str
    dmarc: str
    from_domain: str
    dkim_domain: str
    spf_domain: str
    verdict: str
    header: str

    def to_meta(self) -> dict[str, Any]:
        return {
            "spf": self.spf,
            "dkim": self.dkim,
            "dmarc": self.dmarc,
            "from_domain": self.from_domain,
            "dkim_domain": self.dkim_domain,
            "spf_domain": self.spf_domain,
            "verdict": self.verdict,
            "authentication_results": self.header,
        }


def authenticate(
    raw: bytes,
    *,
    resolver: Resolver,
    authserv_id: str,
    peer_ip: str | None,
    helo: str | None,
    mail_from: str | None,
    from_domain: str,
) -> AuthResults:
    """SPF for the envelope sender and peer, the first DKIM signature, DMARC for the From domain."""
    from authheaders import check_dkim, check_dmarc
    from authres import AuthenticationResultsHeader, DKIMAuthenticationResult, SPFAuthenticationResult

    sender = (mail_from or "").strip("<>")
    spf_result = _spf(resolver, peer_ip, sender, helo or "")
    spf_obj = SPFAuthenticationResult(result=spf_result, smtp_mailfrom=sender or None, smtp_helo=helo or None)
    dkim_dns = _dkim_dnsfunc(resolver)
    try:
        dkim_obj = check_dkim(raw, dnsfunc=dkim_dns)
        dkim_result = str(dkim_obj.result or "none")
        dkim_domain = str(getattr(dkim_obj, "header_d", "") or "").lower()
    except Exception:  # noqa: BLE001 - hostile input must give a result, never crash the receiver
        dkim_obj, dkim_result, dkim_domain = None, "none", ""
    if dkim_result == "fail" and b"dkim-signature:" not in raw[:65536].lower():
        # authheaders reports "fail" for a message that carries no signature at all
        dkim_obj, dkim_result = DKIMAuthenticationResult(result="none"), "none"
    try:
        dmarc_obj = check_dmarc(raw, spf_obj, dkim_obj, dnsfunc=_dmarc_dnsfunc(resolver))
        dmarc_result = str(dmarc_obj.result or "none")
    except Exception as exc:  # noqa: BLE001 - hostile input must give a result, never crash the receiver
        log.info("DMARC check failed: %s", exc)
        dmarc_obj, dmarc_result = None, "temperror"
    spf_domain = sender.rpartition("@")[2].lower() if "@" in sender else (helo or "").lower()
    verdict = _verdict(spf_result, spf_domain, dkim_result, dkim_domain, dmarc_result, from_domain)
    results = [r for r in (spf_obj, dkim_obj, dmarc_obj) if r is not None]
    header = str(AuthenticationResultsHeader(authserv_id=authserv_id, results=results))
    return AuthResults(spf_result, dkim_result, dmarc_result, from_domain, dkim_domain, spf_domain, verdict, header)


def _verdict(spf: str, spf_domain: str, dkim: str, dkim_domain: str, dmarc: str, from_domain: str) -> str:
    if dmarc == "pass":
        return "pass"
    if from_domain and dkim == "pass" and _aligned(dkim_domain, from_domain):
        return "pass"
    if from_domain and spf == "pass" and _aligned(spf_domain, from_domain):
        return "pass"
    if dmarc == "fail" or spf in ("fail", "softfail") or dkim == "fail":
        return "fail"
    return "none"


def _aligned(domain: str, from_domain: str) -> bool:
    """DMARC relaxed alignment: same organisational domain (public suffix list, bundled, no network)."""
    if not domain:
        return False
    from authheaders.dmarc_lookup import get_org_domain

    return bool(get_org_domain(domain.lower()) == get_org_domain(from_domain.lower()))


def _spf(resolver: Resolver, peer_ip: str | None, sender: str, helo: str) -> str:
    if not peer_ip or not (sender or helo):
        return "none"
    try:
        ipaddress.ip_address(peer_ip)
    except ValueError:
        return "none"
    import spf

    class Query(spf.query):  # type: ignore[misc]
        """pyspf asks DNS through a module-level function; this routes its questions to our resolver."""

        def dns(self, name: str, qtype: str, cnames: Any = None, ignore_void: bool = False) -> list[Any]:
            name = str(name).rstrip(".").lower()
            if not name:
                return []
            key = (name, qtype)
            if key not in self.cache:
                try:
                    values = resolver.lookup(name, "TXT" if qtype == "SPF" else qtype)
                except DnsTempError as exc:
                    raise spf.TempError(f"DNS {exc}") from exc
                self.cache[key] = [_spf_value(qtype, v) for v in values]
            result = self.cache[key]
            if not result and not ignore_void:
                self.void_lookups += 1
                if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                    raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
            return list(result)

    try:
        result, _code, _explanation = Query(i=peer_ip, s=sender, h=helo, querytime=10).check()
    except Exception as exc:  # noqa: BLE001 - hostile input must give a result, never crash the receiver
        log.info("SPF check failed: %s", exc)
        return "temperror"
    return str(result)


def _spf_value(qtype: str, value: str) -> Any:
    if qtype in ("TXT", "SPF"):
        return (value.encode("utf-8"),)
    if qtype == "MX":
        preference, _, host = value.partition(" ")
        return (int(preference or 0), host)
    return value


def _dkim_dnsfunc(resolver: Resolver) -> Any:
    def get_txt(name: bytes | str, timeout: float = 5) -> bytes | None:
        host = name.decode("ascii") if isinstance(name, bytes) else name
        try:
            records = resolver.lookup(host.rstrip("."), "TXT")
        except DnsTempError as exc:
            import dns.exception

            raise dns.exception.Timeout(str(exc)) from exc
        return records[0].encode("utf-8") if records else None

    return get_txt


def _dmarc_dnsfunc(resolver: Resolver) -> Any:
    def get_dmarc(name: str) -> str | None:
        try:
            records = resolver.lookup(name.rstrip("."), "TXT")
        except DnsTempError:
            return None
        dmarc = [r for r in records if r.startswith("v=DMARC1")]
        return dmarc[0] if len(dmarc) == 1 else None

    return get_dmarc
