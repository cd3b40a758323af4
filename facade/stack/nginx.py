"""Debian's nginx in front of the local production-mode facades, from the compose template.

``docker/nginx/facade.conf.template`` is the one description of the proxy: the compose file
mounts it into the nginx image, and this module renders it with the same variables and wraps it
in a main configuration that keeps pid, logs and temporary files in the stack's directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import requests

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "docker" / "nginx" / "facade.conf.template"
#: nginx's own errors in each contract's format (facade/stack/edge_errors.py), included by the
#: template from the directory of the main configuration in both the image and the local stack.
CONTRACT_ERRORS = REPO / "docker" / "nginx" / "contract-errors.conf"

_MAIN = """# Rendered by facade/stack/nginx.py; edit docker/nginx/facade.conf.template instead.
$user_line
daemon off;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/facade.conf;
}
"""


def render(listen: str, upstreams: tuple[str, str]) -> str:
    """The template with its variables; nginx's own ``$variables`` stay as they are."""
    return Template(TEMPLATE.read_text()).safe_substitute(
        NGINX_LISTEN=listen, FACADE_UPSTREAM_1=upstreams[0], FACADE_UPSTREAM_2=upstreams[1]
    )


def write_contract_errors(output: str | None = None) -> int:
    """``facade nginx errors``: the include file for the default prefixes."""
    from facade.settings import DEFAULT_PREFIXES
    from facade.stack.edge_errors import render as render_errors

    text = render_errors(DEFAULT_PREFIXES)
    if output == "-":
        print(text, end="")
    else:
        path = Path(output) if output else CONTRACT_ERRORS
        path.write_text(text)
        print(f"wrote {path}")
    return 0


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    return found


@dataclass
class NginxServer:
    directory: Path
    port: int
    upstreams: tuple[str, str]
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def write_config(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "tmp").mkdir(exist_ok=True)
        user_line = ""
        if os.geteuid() == 0:
            # Workers drop root; they must be able to write the temporary files.
            user = "www-data" if _user_exists("www-data") else "nobody"
            record = pwd.getpwnam(user)
            os.chown(self.directory / "tmp", record.pw_uid, record.pw_gid)
            user_line = f"user {user};"
        (self.directory / "facade.conf").write_text(
            render(f"127.0.0.1:{self.port}", self.upstreams)
        )
        shutil.copyfile(CONTRACT_ERRORS, self.directory / CONTRACT_ERRORS.name)
        main = self.directory / "nginx.conf"
        main.write_text(Template(_MAIN).substitute(dir=self.directory, user_line=user_line))
        subprocess.run(
            [nginx_binary(), "-t", "-q", *self._paths(main)],
            check=True,
        )
        return main

    def _paths(self, main: Path) -> list[str]:
        error_log = str(self.directory / "error.log")
        return ["-p", str(self.directory), "-e", error_log, "-c", str(main)]

    def start(self) -> None:
        main = self.write_config()
        with (self.directory / "nginx.out").open("ab") as out:
            self.process = subprocess.Popen(
                [nginx_binary(), *self._paths(main)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, path: str = "/healthz", timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}{path}", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"nginx not answering on {self.port}")


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
