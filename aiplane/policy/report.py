"""The gate's report in the formats review tools read: a terminal table, JSON, SARIF 2.1.0 and JUnit XML."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from aiplane import __version__
from aiplane.policy.gate import Finding, GateReport
from aiplane.terminal import plural, show_table

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
BUILT_AT = 1  # the id of a SARIF result's related location: the component code that built the resource
STATUS_STYLE = {"violation": "bold red", "advisory": "yellow", "waived": "cyan"}


def _summary(report: GateReport) -> dict[str, dict[str, int]]:
    return {
        stack.stack: {status: stack.count(status) for status in ("passed", "violation", "advisory", "waived")}
        for stack in report.stacks
    }


STATUS_ORDER = ("violation", "advisory", "waived")


def _check_text(finding: Finding) -> Text:
    """The check's id, linked to its guideline where it has one (terminals that support links show it)."""
    text = Text(finding.check_id, style=f"link {finding.guideline}" if finding.guideline else "")
    return text.append(f" {finding.check_name}")


def _ordered(findings: list[Finding]) -> list[Finding]:
    """Violations first, then advisories, then waived findings; by component, tenant and check within each."""
    return sorted(findings, key=lambda f: (STATUS_ORDER.index(f.status), f.component, f.tenant or "", f.check_id, f.resource))


def render_cli(report: GateReport, console: Console, wide: bool = False) -> None:
    for stack in report.stacks:
        failed = _ordered([finding for finding in stack.findings if finding.status != "passed"])
        if failed:
            console.print(f"aiplane check · stack {stack.stack} · {stack.source}", markup=False, soft_wrap=True)
            show_table(console, _table(failed), wide=wide, fallback=_blocks(failed))
        counts = _summary(report)[stack.stack]
        console.print(
            Text(
                f"{stack.stack}: {counts['passed']} passed, {plural(counts['violation'], 'violation')}, "
                f"{counts['advisory']} advisory, {counts['waived']} waived",
                style="bold red" if counts["violation"] else "bold green",
            )
        )
    console.print(f"checkov {report.checkov_version} · {plural(len(report.catalog), 'aiplane check')}")


def _table(findings: list[Finding]) -> Table:
    table = Table(title_justify="left")
    for column in ("status", "check", "component", "tenant"):
        table.add_column(column)
    for column in ("resource", "stack field", "source"):
        table.add_column(column, no_wrap=True)
    for finding in findings:
        table.add_row(
            Text(finding.status, style=STATUS_STYLE[finding.status]),
            _check_text(finding),
            finding.component,
            finding.tenant or "-",
            finding.resource,
            f"{finding.stack_field} (line {finding.stack_line})",
            f"{finding.source_file}:{finding.source_line}",
        )
    return table


def _blocks(findings: list[Finding]) -> Iterator[Text | str]:
    """One finding per block, every name and path whole on its own line (a terminal may wrap a long one, it
    is never cut)."""
    for finding in findings:
        yield Text(f"{finding.status:<9} ", style=STATUS_STYLE[finding.status]).append(_check_text(finding))
        where = f"{finding.component}" + (f" · tenant {finding.tenant}" if finding.tenant else "")
        for label, value in (
            ("resource", finding.resource),
            ("in", where),
            ("stack", f"{finding.stack_field} (line {finding.stack_line})"),
            ("source", f"{finding.source_file}:{finding.source_line}"),
        ):
            yield f"          {label:<9}{value}"


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "stack": finding.stack,
        "check": finding.check_id,
        "title": finding.check_name,
        "resource": finding.resource,
        "status": finding.status,
        "severity": finding.severity,
        "severityReason": finding.severity_reason,
        "component": finding.component,
        "tenant": finding.tenant,
        "source": {"file": finding.source_file, "line": finding.source_line},
        "stackField": {"file": finding.stack_file, "path": finding.stack_field, "line": finding.stack_line},
        "waiver": None
        if finding.waiver is None
        else {"reason": finding.waiver.reason, "owner": finding.waiver.owner, "expires": finding.waiver.expires.isoformat()},
    }


def render_json(report: GateReport) -> str:
    document = {
        "checkovVersion": report.checkov_version,
        "exitCode": report.exit_code,
        "summary": _summary(report),
        "findings": [finding_json(finding) for finding in report.findings if finding.status != "passed"],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _physical(file: str, line: int) -> dict[str, Any]:
    return {"artifactLocation": {"uri": file, "uriBaseId": "%SRCROOT%"}, "region": {"startLine": line}}


def render_sarif(report: GateReport) -> str:
    """SARIF 2.1.0 for GitHub code scanning: failures only, each located in a file the user edits."""
    failed = [finding for finding in report.findings if finding.status != "passed"]
    why = {check.id: check.why for check in report.catalog}
    rules: dict[str, dict[str, Any]] = {}
    for finding in failed:
        rule = rules.setdefault(
            finding.check_id,
            {
                "id": finding.check_id,
                "name": finding.check_id,
                "shortDescription": {"text": finding.check_name},
                "fullDescription": {"text": why.get(finding.check_id, finding.check_name)},
            },
        )
        if finding.guideline:
            rule["helpUri"] = finding.guideline
    results = []
    for finding in failed:
        built_elsewhere = (finding.source_file, finding.source_line) != (finding.stack_file, finding.stack_line)
        built_by = f"[built by {finding.component}]({BUILT_AT})" if built_elsewhere else f"built by {finding.component}"
        result: dict[str, Any] = {
            "ruleId": finding.check_id,
            "ruleIndex": list(rules).index(finding.check_id),
            "level": {"violation": "error", "advisory": "warning", "waived": "note"}[finding.status],
            "message": {
                "text": f"[{finding.stack}] {finding.resource}: {finding.check_name} (configured by {finding.stack_field}; {built_by})"
            },
            # Code scanning annotates the first location only: the stack-file line a pull request changes.
            # The component code that built the resource is a related location the message links to.
            "locations": [
                {
                    "physicalLocation": _physical(finding.stack_file, finding.stack_line),
                    "logicalLocations": [
                        {"fullyQualifiedName": finding.stack_field, "kind": "member"},
                        {"fullyQualifiedName": finding.resource, "kind": "resource"},
                    ],
                }
            ],
            "partialFingerprints": {"aiplane/v1": f"{finding.stack}/{finding.check_id}/{finding.resource}"},
            "properties": {"stack": finding.stack, "component": finding.component, "tenant": finding.tenant, "stackField": finding.stack_field},
        }
        if built_elsewhere:
            result["relatedLocations"] = [
                {
                    "id": BUILT_AT,
                    "physicalLocation": _physical(finding.source_file, finding.source_line),
                    "message": {"text": f"{finding.component} builds {finding.resource} here"},
                }
            ]
        if finding.waiver is not None:
            result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": finding.waiver.reason}]
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "aiplane",
                        "version": __version__,
                        "informationUri": "https://github.com/aiplane/aiplane",
                        "rules": list(rules.values()),
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The aiplane project root."}}},
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def render_junit(report: GateReport) -> str:
    suites = ET.Element("testsuites", name="aiplane check")
    for stack in report.stacks:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"aiplane check {stack.stack}",
            tests=str(len(stack.findings)),
            failures=str(stack.count("violation")),
            skipped=str(stack.count("advisory") + stack.count("waived")),
        )
        for finding in stack.findings:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{stack.stack}.{finding.component}",
                name=f"{finding.check_id} {finding.resource}",
                file=finding.source_file,
                line=str(finding.source_line),
            )
            if finding.status == "violation":
                ET.SubElement(case, "failure", message=finding.check_name, type=finding.check_id).text = (
                    f"{finding.resource} fails {finding.check_id} ({finding.check_name}), configured by {finding.stack_field} "
                    f"at {finding.stack_file}:{finding.stack_line}, built at {finding.source_file}:{finding.source_line}"
                )
            elif finding.status == "advisory":
                ET.SubElement(case, "skipped", message=f"advisory: {finding.severity_reason}")
            elif finding.status == "waived":
                ET.SubElement(case, "skipped", message=f"waived until {finding.waiver.expires}: {finding.waiver.reason}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
