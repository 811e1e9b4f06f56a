"""Every semantic rule (SPEC-REFERENCE "semantic checks" and "Details"), one by one."""

from __future__ import annotations

import pytest

from qwak_auto.automation.checks import (
    Context,
    check_document,
    cron_problem,
    git_uri_problem,
    mask_url,
    secret_names,
)
from qwak_auto.automation.load import load_text
from qwak_auto.automation.problems import Severity
from qwak_auto.automation.sqlcheck import sql_problem

BASE = """name: retrain
model_id: churn
trigger:
  scheduled:
    cron: "0 3 * * *"
action:
  build_deploy:
    build_spec:
      git_uri: https://github.com/acme/churn.git#models/churn
"""


def check(extra: str = "", replace: tuple[str, str] | None = None, ctx: Context | None = None):
    text = BASE + extra
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    docs, problems = load_text(text, "a.yaml")
    assert problems == []
    return check_document(docs[0], ctx)


def found(*args, **kwargs) -> list[tuple[str, str]]:
    return [(p.code, p.path) for p in check(*args, **kwargs)]


def test_a_valid_document_has_no_problems() -> None:
    assert check() == []


# ------------------------------------------------------------------ cron


@pytest.mark.parametrize(
    "expr",
    [
        "0 3 * * *",
        "*/5 * * * *",
        "0 0 29 2 *",
        "@daily",
        "@HOURLY",
        "@midnight",
        "@annually",
        "0 0 * * MON-FRI",
        "0 0 L * *",
        "0 0 31 2 1",
    ],
)
def test_cron_accepted(expr: str) -> None:
    assert cron_problem(expr) is None


@pytest.mark.parametrize(
    ("expr", "code"),
    [
        ("0 0 31 2 *", "cron.never-fires"),
        ("0 0 30 2 *", "cron.never-fires"),
        ("0 0 3 * * *", "cron.fields"),
        ("0 3 * *", "cron.fields"),
        ("61 * * * *", "cron.invalid"),
        ("a b c d e", "cron.invalid"),
        ("@reboot", "cron.invalid"),
        ("@every 5m", "cron.invalid"),
    ],
)
def test_cron_refused(expr: str, code: str) -> None:
    problem = cron_problem(expr)
    assert problem is not None
    assert problem[0] == code


def test_cron_problem_has_position_and_path() -> None:
    problems = check(replace=('cron: "0 3 * * *"', 'cron: "0 0 31 2 *"'))
    assert [(p.code, p.path, p.line, p.column) for p in problems] == [
        ("cron.never-fires", "trigger.scheduled.cron", 5, 11)
    ]


def test_six_fields_hint_mentions_seconds() -> None:
    problem = cron_problem("0 0 3 * * *")
    assert problem is not None
    assert "seconds" in problem[2]


def test_override_cron_of_metric_trigger() -> None:
    metric = (
        'trigger:\n  scheduled:\n    cron: "0 3 * * *"\n',
        "trigger:\n  metric_based:\n    name: d\n    sql_query: SELECT 1\n    direction: ABOVE\n"
        '    threshold: "0.3"\n    override_cron: "* * *"\n',
    )
    assert found(replace=metric) == [("cron.fields", "trigger.metric_based.override_cron")]


# ------------------------------------------------------------------ interval, zone, durations


@pytest.mark.parametrize("interval", ["1m", "6h", "1d", "2w", "Daily", "hourly", "WEEKLY", "90s"])
def test_interval_accepted(interval: str) -> None:
    assert found(replace=('cron: "0 3 * * *"', f"interval: {interval}")) == []


@pytest.mark.parametrize(
    ("interval", "code"),
    [
        ("30s", "interval.too-short"),
        ("59s", "interval.too-short"),
        ("6 hours", "duration.invalid"),
        ("fortnightly", "duration.invalid"),
        ("-1h", "duration.invalid"),
    ],
)
def test_interval_refused(interval: str, code: str) -> None:
    got = found(replace=('cron: "0 3 * * *"', f'interval: "{interval}"'))
    assert got == [(code, "trigger.scheduled.interval")]


@pytest.mark.parametrize(
    ("zone", "ok"),
    [
        ("UTC", True),
        ("Europe/Berlin", True),
        ("America/Argentina/Buenos_Aires", True),
        ("Europe/Springfield", False),
        ("CEST", False),
        ("../etc/passwd", False),
        ("/UTC", False),
    ],
)
def test_timezone(zone: str, ok: bool) -> None:
    got = found(replace=('cron: "0 3 * * *"', f'cron: "0 3 * * *"\n    timezone: "{zone}"'))
    assert got == ([] if ok else [("timezone.unknown", "trigger.scheduled.timezone")])


def test_starting_deadline_and_cool_down_durations() -> None:
    got = found(replace=('cron: "0 3 * * *"', 'cron: "0 3 * * *"\n    starting_deadline: 2 hours'))
    assert got == [("duration.invalid", "trigger.scheduled.starting_deadline")]


# ------------------------------------------------------------------ thresholds and SQL

CONDITION = """    deployment_condition:
      build_metric:
        metric_name: f1
        direction: ABOVE
        threshold: {threshold}
"""


@pytest.mark.parametrize(
    "threshold",
    [
        '"0.65"',
        '"-1"',
        '"1e3"',
        '".5"',
        '"SELECT avg(f1) FROM build_metrics"',
        '"select 1;"',
        '"WITH x AS (SELECT 1 AS v) SELECT v FROM x"',
        "\"SELECT ';' AS semi -- a; comment\"",
        '"(SELECT 0.7)"',
    ],
)
def test_threshold_accepted(threshold: str) -> None:
    assert found(CONDITION.format(threshold=threshold)) == []


@pytest.mark.parametrize(
    ("threshold", "code"),
    [
        ('"nan"', "threshold.not-finite"),
        ('"NaN"', "threshold.not-finite"),
        ('"inf"', "threshold.not-finite"),
        ('"-Infinity"', "threshold.not-finite"),
        ('"1e999"', "threshold.not-finite"),
        ('"SELECT 1; SELECT 2"', "sql.multiple-statements"),
        ('"SELECT 1;; "', "sql.multiple-statements"),
        ('"DELETE FROM builds"', "sql.write"),
        ('"drop table builds"', "sql.write"),
        ('"INSTALL httpfs"', "sql.write"),
        ("\"ATTACH 'x.db'\"", "sql.write"),
        ("\"COPY builds TO 'x.csv'\"", "sql.write"),
        ('"PRAGMA version"', "sql.write"),
        ('"SET threads = 1"', "sql.write"),
        ('"WITH d AS (DELETE FROM builds RETURNING *) SELECT count(*) FROM d"', "sql.write"),
        ('"high"', "threshold.invalid"),
        ('"0,65"', "threshold.invalid"),
    ],
)
def test_threshold_refused(threshold: str, code: str) -> None:
    path = "action.build_deploy.deployment_condition.build_metric.threshold"
    assert found(CONDITION.format(threshold=threshold)) == [(code, path)]


def test_sql_comments_and_strings_do_not_count() -> None:
    assert sql_problem("SELECT 'DROP TABLE x; --' AS s /* ; */ -- ;\n") is None
    assert sql_problem("SELECT $$;$$") is None
    assert sql_problem("-- comment\nSELECT 1") is None


def test_metric_trigger_query_and_threshold() -> None:
    metric = (
        'trigger:\n  scheduled:\n    cron: "0 3 * * *"\n',
        "trigger:\n  metric_based:\n    name: d\n    sql_query: UPDATE x SET y = 1\n"
        '    direction: ABOVE\n    threshold: "inf"\n    cool_down: soon\n',
    )
    assert sorted(found(replace=metric)) == [
        ("duration.invalid", "trigger.metric_based.cool_down"),
        ("sql.write", "trigger.metric_based.sql_query"),
        ("threshold.not-finite", "trigger.metric_based.threshold"),
    ]


def test_deltas() -> None:
    base = CONDITION.format(threshold='"0.6"')
    ok = base + "        compare_to: deployed\n"
    assert found(ok) == []
    assert found(ok + '        min_delta: "0.01"\n') == []
    assert found(ok + '        min_relative_delta: "0.02"\n') == []
    path = "action.build_deploy.deployment_condition.build_metric"
    both = ok + '        min_delta: "0.01"\n        min_relative_delta: "0.02"\n'
    assert found(both) == [("delta.both", f"{path}.min_relative_delta")]
    assert found(ok + '        min_delta: "lots"\n') == [("delta.invalid", f"{path}.min_delta")]
    assert found(ok + '        min_delta: "nan"\n') == [
        ("threshold.not-finite", f"{path}.min_delta")
    ]
    alone = base + '        min_delta: "0.01"\n'
    assert found(alone) == [("delta.without-compare-to", f"{path}.min_delta")]


@pytest.mark.parametrize("direction", ["EQUALS", "ABOVE_OR_EQUALS", "BELOW_OR_EQUALS"])
def test_qwak_directions(direction: str) -> None:
    base = CONDITION.format(threshold='"0.6"').replace("ABOVE", direction)
    assert found(base) == []
    compared = found(base + "        compare_to: deployed\n")
    path = "action.build_deploy.deployment_condition.build_metric.compare_to"
    assert compared == ([("compare-to.equals", path)] if direction == "EQUALS" else [])


# ------------------------------------------------------------------ git_uri and paths


@pytest.mark.parametrize(
    "uri",
    [
        "https://github.com/org/repo.git",
        "http://git.local/repo",
        "git@github.com:org/repo.git",
        "ssh://git@github.com/org/repo.git",
        "file:///srv/git/repo",
        "/srv/git/repo",
        "./repo",
        "../repos/model",
        "repo",
        "https://github.com/org/repo.git#a/b",
        "github.com:org/repo.git",
        "ssh://git@host:2222/org/repo.git",
    ],
)
def test_git_uri_accepted(uri: str) -> None:
    assert git_uri_problem(uri) is None


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("ext::sh -c touch% /tmp/pwned", "git-uri.transport"),
        ("git://github.com/org/repo.git", "git-uri.transport"),
        ("ftp://host/repo.git", "git-uri.transport"),
        ("fd::17", "git-uri.transport"),
        ("-uupload-pack=touch /tmp/x", "git-uri.option"),
        ("--upload-pack=x", "git-uri.option"),
        ("https://user:tok3n@github.com/org/repo.git", "git-uri.credentials"),
        ("https://tok3nvalue@github.com/org/repo.git", "git-uri.credentials"),
        ("ssh://git:passw0rd@host/org/repo.git", "git-uri.credentials"),
    ],
)
def test_git_uri_refused(uri: str, code: str) -> None:
    problem = git_uri_problem(uri)
    assert problem is not None
    assert problem[0] == code
    for secret in ("tok3n", "passw0rd", "tok3nvalue"):
        assert secret not in problem[1] + problem[2]


def test_credentials_are_masked_in_the_message() -> None:
    uri = "https://x-access-token:ghp_abcdef123456@github.com/org/repo.git"
    problems = check(replace=("https://github.com/acme/churn.git", uri))
    assert [p.code for p in problems] == ["git-uri.credentials"]
    assert "https://***@github.com/org/repo.git" in problems[0].message
    assert "ghp_" not in problems[0].message + problems[0].hint
    assert "git_access_token_secret" in problems[0].hint


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://u:p@host/x", "https://***@host/x"),
        ("https://tok@host", "https://***@host"),
        ("https://hooks.slack.com/services/T0/B0/xyz", "https://hooks.slack.com/services/***"),
        ("git@host:org/repo", "***@host:org/repo"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    ("sub", "code"),
    [("../up", "path.parent"), ("a/../../b", "path.parent"), ("/abs", "path.absolute")],
)
def test_sub_path_after_hash(sub: str, code: str) -> None:
    got = found(replace=("#models/churn", f"#{sub}"))
    assert got == [(code, "action.build_deploy.build_spec.git_uri")]


@pytest.mark.parametrize("key", ["main_dir", "dependency_file_path"])
@pytest.mark.parametrize(("value", "code"), [("../x", "path.parent"), ("/etc/x", "path.absolute")])
def test_main_dir_and_dependency_file_are_relative(key: str, value: str, code: str) -> None:
    got = found(f"      {key}: {value}\n")
    assert got == [(code, f"action.build_deploy.build_spec.{key}")]


# ------------------------------------------------------------------ secrets in the open


def test_slack_webhook_url_where_a_secret_name_belongs() -> None:
    hook = "https://hooks.slack.com/services/T1/B2/s3cr3tv4lue"
    problems = check(f"on_success:\n  slack:\n    webhook_secret: {hook}\n")
    assert [(p.code, p.path) for p in problems] == [
        ("secret.plaintext", "on_success.slack.webhook_secret")
    ]
    assert "s3cr3tv4lue" not in problems[0].message + problems[0].hint
    assert "hooks.slack.com/services/***" in problems[0].message


def test_token_where_a_secret_name_belongs() -> None:
    problems = check("      git_access_token_secret: ghp_abcdefghijklmnop1234\n")
    assert [p.code for p in problems] == ["secret.plaintext"]
    assert "ghp_" not in problems[0].message


def test_webhook_url_with_credentials_or_slack_token() -> None:
    for url in (
        "https://user:pw12345@hooks.example.com/x",
        "https://hooks.slack.com/services/T/B/zz",
    ):
        problems = check(f"on_error:\n  webhook:\n    url: {url}\n")
        assert [(p.code, p.path) for p in problems] == [
            ("secret.plaintext", "on_error.webhook.url")
        ]
        assert "pw12345" not in problems[0].message
        assert "/T/B/zz" not in problems[0].message
    assert check("on_error:\n  webhook:\n    url: https://hooks.example.com/x\n") == []


def test_secret_names_lists_every_secret_field() -> None:
    extra = (
        "      git_access_token_secret: gh\n"
        "on_success:\n  slack: {webhook_secret: hook}\n"
        "on_error:\n  webhook: {url: 'https://x', signing_secret: sign}\n"
    )
    doc = load_text(BASE + extra)[0][0]
    assert [(".".join(map(str, p)), n) for p, n in secret_names(doc.data)] == [
        ("action.build_deploy.build_spec.git_access_token_secret", "gh"),
        ("on_success.slack.webhook_secret", "hook"),
        ("on_error.webhook.signing_secret", "sign"),
    ]
    qwak = (
        "      git_ssh_token_secret: ssh\n"
        "      service_account_key_secret_name: sa\n"
        "    deployment_spec: {service_account_key_secret_name: sa2}\n"
        "on_error:\n  webhook: {url: 'https://x', secret_headers: {Authorization: tok}}\n"
    )
    doc = load_text(BASE + qwak)[0][0]
    # the service-account keys have no effect here, so --check-secrets does not ask for them
    assert [(".".join(map(str, p)), n) for p, n in secret_names(doc.data)] == [
        ("action.build_deploy.build_spec.git_ssh_token_secret", "ssh"),
        ("on_error.webhook.secret_headers.Authorization", "tok"),
    ]
    token = check("      service_account_key_secret_name: ghp_abcdefabcdef0123\n")
    assert [(p.code, p.path) for p in token if p.code == "secret.plaintext"] == [
        ("secret.plaintext", "action.build_deploy.build_spec.service_account_key_secret_name")
    ]
    assert all("abcdef0123" not in p.message + p.hint for p in token)


# ------------------------------------------------------------------ build and deploy


def test_env_vars() -> None:
    extra = '      env_vars: ["A=1", "B=", "EMPTY", "1BAD=x", "has space=x", "_OK=a=b"]\n'
    assert found(extra) == [
        ("env.format", "action.build_deploy.build_spec.env_vars[2]"),
        ("env.key", "action.build_deploy.build_spec.env_vars[3]"),
        ("env.key", "action.build_deploy.build_spec.env_vars[4]"),
    ]
    deploy = '    deployment_spec:\n      env_vars: ["NOPE"]\n'
    assert found(deploy) == [("env.format", "action.build_deploy.deployment_spec.env_vars[0]")]


def test_env_var_values_with_control_characters() -> None:
    """Issue 14: a newline in a value passed `auto validate`."""
    extra = '      env_vars: ["A=one\\ntwo", "B=tab\\there", "C=bell\\a", "D=fine text"]\n'
    problems = check(extra)
    assert [(p.code, p.path) for p in problems] == [
        ("env.control-character", "action.build_deploy.build_spec.env_vars[0]"),
        ("env.control-character", "action.build_deploy.build_spec.env_vars[1]"),
        ("env.control-character", "action.build_deploy.build_spec.env_vars[2]"),
    ]
    assert problems[0].message == "the value of `A` contains a newline (\\n)"
    assert problems[2].message == "the value of `C` contains the control character U+0007"
    deploy = '    deployment_spec:\n      env_vars: ["X=a\\rb"]\n'
    assert found(deploy) == [
        ("env.control-character", "action.build_deploy.deployment_spec.env_vars[0]")
    ]


@pytest.mark.parametrize("branch", ["--upload-pack=touch /tmp/x", "-b"])
def test_a_branch_that_git_would_read_as_an_option(branch: str) -> None:
    problems = check(f'      git_branch: "{branch}"\n')
    assert [(p.code, p.path) for p in problems] == [
        ("git-branch.option", "action.build_deploy.build_spec.git_branch")
    ]
    assert "starts with `-`" in problems[0].message


@pytest.mark.parametrize("branch", ["a..b", "x.lock", "a b", "a@{1}"])
def test_a_branch_the_run_would_refuse(branch: str) -> None:
    assert found(f'      git_branch: "{branch}"\n') == [
        ("git-branch.invalid", "action.build_deploy.build_spec.git_branch")
    ]


@pytest.mark.parametrize("branch", ["main", "release/1.10", "v1.2.3", "abc1234", "feat+x"])
def test_branches_accepted(branch: str) -> None:
    assert found(f'      git_branch: "{branch}"\n') == []


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/ml-build",
        "arn:aws:iam::123456789012:role/service-role/ml.build@team",
        "arn:aws-cn:iam::123456789012:role/x",
        "arn:aws-us-gov:iam::123456789012:role/path/to/name",
        "arn:aws-iso-b:iam::123456789012:role/x",
    ],
)
def test_role_arns_accepted(arn: str) -> None:
    assert found(f'      assumed_iam_role: "{arn}"\n') == []
    assert found(f'    deployment_spec:\n      custom_iam_role_arn: "{arn}"\n') == []


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::12345:role/x",  # not a 12-digit account
        "arn:aws:iam::123456789012:user/x",  # a user, not a role
        "arn:aws:s3:::bucket",
        "ml-build",  # a name without the ARN
        "arn:aws:iam::123456789012:role/" + "n" * 65,  # names are at most 64 characters
        "arn:aws:iam::123456789012:role/a b",
    ],
)
def test_malformed_role_arns_refused(arn: str) -> None:
    """Issue 14: `validate --strict` accepted an ARN that the build then refused."""
    problems = check(f'      assumed_iam_role: "{arn}"\n')
    assert [(p.code, p.path) for p in problems] == [
        ("iam.role-arn", "action.build_deploy.build_spec.assumed_iam_role")
    ]
    assert "arn:aws:iam::<12-digit account id>:role/<name>" in problems[0].hint
    deploy = f'    deployment_spec:\n      custom_iam_role_arn: "{arn}"\n'
    assert found(deploy) == [
        ("iam.role-arn", "action.build_deploy.deployment_spec.custom_iam_role_arn")
    ]


@pytest.mark.parametrize(
    ("memory", "code"),
    [
        ("2Gi", None),
        ("512Mi", None),
        ("1.5Gi", None),
        ("2G", None),
        ('"2048"', "memory.invalid"),
        ("lots", "memory.invalid"),
        ("2 GB", "memory.invalid"),
        ("512Mib", "memory.legacy-unit"),
    ],
)
def test_memory(memory: str, code: str | None) -> None:
    problems = check(f"    deployment_spec:\n      memory: {memory}\n")
    assert [p.code for p in problems] == ([code] if code else [])


def test_legacy_memory_is_a_warning_with_the_normalised_spelling() -> None:
    problems = check("      resources:\n        cpu: {cpu_fraction: 1, memory: 512Mib}\n")
    assert len(problems) == 1
    p = problems[0]
    assert (p.code, p.severity, p.path) == (
        "memory.legacy-unit",
        Severity.WARNING,
        "action.build_deploy.build_spec.resources.cpu.memory",
    )
    assert "512Mi`" in p.hint


def test_replicas() -> None:
    scale = "    deployment_spec:\n      auto_scale_config:\n        min_replica_count: {lo}\n"
    scale += "        max_replica_count: {hi}\n"
    assert found(scale.format(lo=1, hi=4)) == []
    assert found(scale.format(lo=2, hi=2)) == []
    path = "action.build_deploy.deployment_spec.auto_scale_config.min_replica_count"
    assert found(scale.format(lo=5, hi=2)) == [("replicas.range", path)]


def test_pods_and_gpu_amount_at_least_one() -> None:
    got = found("    deployment_spec:\n      number_of_pods: 0\n")
    assert got == [("range.minimum", "action.build_deploy.deployment_spec.number_of_pods")]


def test_purchase_option_and_instance_are_warnings() -> None:
    problems = check(
        "      purchase_option: spot\n      resources: {instance: medium}\n",
        ctx=Context(builder="docker"),
    )
    assert [(p.code, p.severity) for p in problems] == [
        ("qwak.no-effect", Severity.WARNING),
        ("qwak.no-effect", Severity.WARNING),
    ]
    assert "docker builder" in problems[0].message


def test_every_qwak_field_a_builder_cannot_honour_is_a_warning_naming_it() -> None:
    extra = (
        "      gpu_compatible: true\n"
        "      service_account_key_secret_name: gcp_key\n"
        "      provision_instance_timeout: 30\n"
        "      purchase_option: ondemand\n"
        "      resources: {instance: gpu.t4.xl}\n"
        '      dependencies_as_of: "2024-06-01"\n'
        "    deployment_spec:\n"
        "      instance: small\n"
        "      purchase_option: spot\n"
        "      service_account_key_secret_name: gcp_key\n"
    )
    bs, ds = "action.build_deploy.build_spec", "action.build_deploy.deployment_spec"
    for builder in ("local", "docker", "kubernetes"):
        problems = check(extra, ctx=Context(builder=builder))
        assert all(p.severity is Severity.WARNING for p in problems)
        assert sorted((p.code, p.path) for p in problems) == [
            ("qwak.no-effect", f"{bs}.gpu_compatible"),
            ("qwak.no-effect", f"{bs}.provision_instance_timeout"),
            ("qwak.no-effect", f"{bs}.purchase_option"),
            ("qwak.no-effect", f"{bs}.resources.instance"),
            ("qwak.no-effect", f"{bs}.service_account_key_secret_name"),
            ("qwak.no-effect", f"{ds}.instance"),
            ("qwak.no-effect", f"{ds}.purchase_option"),
            ("qwak.no-effect", f"{ds}.service_account_key_secret_name"),
        ]
        by_path = {p.path: p for p in problems}
        assert "gpu_compatible" in by_path[f"{bs}.gpu_compatible"].message
        assert f"{builder} builder" in by_path[f"{bs}.gpu_compatible"].message
        assert "default CPU resources" in by_path[f"{bs}.resources.instance"].hint
    # a plugin builder is not known to honour dependencies_as_of
    plugin = found('      dependencies_as_of: "2024-06-01"\n', ctx=Context(builder="kaniko"))
    assert plugin == [("qwak.no-effect", f"{bs}.dependencies_as_of")]
    # Qwak's defaults ask for nothing
    assert found("      gpu_compatible: false\n") == []


def test_git_ssh_token_secret_is_a_spelling_of_git_ssh_key_secret() -> None:
    assert found("      git_ssh_token_secret: deploy_key\n") == []
    both = "      git_ssh_token_secret: a\n      git_ssh_key_secret: b\n"
    assert found(both) == [
        ("secret.both-spellings", "action.build_deploy.build_spec.git_ssh_token_secret")
    ]


def test_dependencies_as_of() -> None:
    path = "action.build_deploy.build_spec.dependencies_as_of"
    assert found('      dependencies_as_of: "2024-06-01"\n') == []
    assert found('      dependencies_as_of: "2024-02-30"\n') == [("date.invalid", path)]
    future = check('      dependencies_as_of: "2999-01-01"\n')
    assert [(p.code, p.severity) for p in future] == [("date.future", Severity.WARNING)]


def test_webhook_secret_headers_and_credential_headers() -> None:
    hook = "on_error:\n  webhook:\n    url: https://hooks.example.com/x\n"
    assert found(hook + "    secret_headers: {Authorization: hook_token}\n") == []
    twice = hook + "    headers: {authorization: x}\n    secret_headers: {Authorization: t}\n"
    assert found(twice) == [
        ("webhook.header-twice", "on_error.webhook.secret_headers.Authorization")
    ]
    plain = check(hook + "    headers: {X-Api-Key: abc123secretvalue, X-Team: ml}\n")
    assert [(p.code, p.path, p.severity) for p in plain] == [
        ("secret.header-plaintext", "on_error.webhook.headers.X-Api-Key", Severity.WARNING)
    ]
    assert "abc123secretvalue" not in plain[0].message + plain[0].hint
    assert "secret_headers: {X-Api-Key: NAME}" in plain[0].hint


def test_environments_checked_only_with_a_config() -> None:
    extra = "environment: staging\n"
    deploy = "    deployment_spec:\n      environments: [prod, qa]\n"
    assert found(deploy + extra) == []
    ctx = Context(environments=("dev", "prod"))
    problems = check(deploy + extra, ctx=ctx)
    assert sorted((p.code, p.path) for p in problems) == [
        ("environment.unknown", "action.build_deploy.deployment_spec.environments[1]"),
        ("environment.unknown", "environment"),
    ]
    assert "dev, prod" in problems[0].hint


def test_wrong_types_are_left_to_the_schema() -> None:
    # a number where a cron string belongs is the schema's problem, not a crash here
    assert found(replace=('cron: "0 3 * * *"', "cron: 5")) == []
    assert found('      env_vars: "A=1"\n') == []


# ------------------------------------------------------------------ the service merges


def test_one_problem_per_value_schema_first_secrets_win(tmp_path) -> None:
    from qwak_auto.automation.validate import validate_paths

    text = BASE + "    deployment_spec:\n      number_of_pods: 0\n"
    text += "on_error:\n  slack:\n    webhook_secret: https://hooks.slack.com/services/T/B/tok3n\n"
    path = tmp_path / "a.yaml"
    path.write_text(text)
    report = validate_paths([path])
    assert [(p.code, p.path) for p in report.problems] == [
        ("schema.range", "action.build_deploy.deployment_spec.number_of_pods"),
        ("secret.plaintext", "on_error.slack.webhook_secret"),
    ]
    assert report.documents == []
    assert all("tok3n" not in p.message + p.hint for p in report.problems)


def test_secret_values_are_never_looked_up_as_names() -> None:
    text = BASE + "      git_access_token_secret: ghp_abcdefghijklmnop\n"
    text += "on_error:\n  slack:\n    webhook_secret: https://hooks.slack.com/services/T/B/x\n"
    data = load_text(text)[0][0].data
    assert secret_names(data) == []
