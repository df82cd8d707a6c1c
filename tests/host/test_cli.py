"""The host's command line: start-up failures, indexing errors, signals (no Azurite needed)."""

import json
import signal
import subprocess
import sys
import textwrap

import requests

from .conftest import REPO, host_env

HTTP_APP = textwrap.dedent("""
    import azure.functions as func
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="ping")
    def ping(req):
        return "pong"

    @app.route(route="bad/{x")
    def broken_route(req):
        return "never"

    @app.timer_trigger(schedule="%NOT_SET_ANYWHERE%", arg_name="t")
    def broken_timer(t):
        pass
""")


def run_host(app_dir, timeout=20):
    return subprocess.run(
        [sys.executable, "-m", "devtools.host", "--port", "0", "--app-dir", str(app_dir)],
        cwd=REPO,
        env=host_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_import_error_exits_non_zero(tmp_path):
    (tmp_path / "function_app.py").write_text("import no_such_module_here\n")
    result = run_host(tmp_path)
    assert result.returncode != 0
    assert "no_such_module_here" in result.stderr
    assert "host ready" not in result.stdout


def test_missing_function_app_exits_non_zero(tmp_path):
    result = run_host(tmp_path)
    assert result.returncode != 0 and "function_app.py" in result.stderr


def test_no_function_app_instance_exits_non_zero(tmp_path):
    (tmp_path / "function_app.py").write_text("x = 1\n")
    result = run_host(tmp_path)
    assert result.returncode != 0 and "FunctionApp" in result.stderr


def test_bad_host_json_exits_non_zero(tmp_path):
    (tmp_path / "function_app.py").write_text(HTTP_APP)
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {"queues": {"maxPollingInterval": "soon"}}}))
    result = run_host(tmp_path)
    assert result.returncode != 0 and "maxPollingInterval" not in result.stdout
    assert "TimeSpan" in result.stderr


def test_unresolved_setting_disables_only_that_function_and_ctrl_c_exits_0(tmp_path, start_host):
    (tmp_path / "function_app.py").write_text(HTTP_APP)
    host = start_host(tmp_path)
    assert host.stdout_lines[-1] == f"host ready {host.base}"
    assert any(line.strip() == f"ping: {host.base}/api/ping" for line in host.stdout_lines)
    assert not any("broken" in line for line in host.stdout_lines)
    assert "broken_route" in host.stderr()
    assert "broken_timer" in host.stderr() and "NOT_SET_ANYWHERE" in host.stderr()
    r = requests.get(f"{host.base}/api/ping", timeout=10)
    assert (r.status_code, r.text, r.headers["Content-Type"]) == (200, "pong", "text/plain; charset=utf-8")
    assert requests.post(f"{host.base}/admin/functions/broken_timer", timeout=10).status_code == 404
    assert host.stop(signal.SIGINT) == 0
