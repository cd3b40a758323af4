"""Swagger UI for a contract's OpenAPI document, from assets packaged on PyPI (no CDN).

The pages must work offline and inside networks that block CDNs, so the JavaScript and CSS come
from the ``swagger-ui-py`` wheel's static folder, served by name from an allow-list.
"""

from __future__ import annotations

import html
import json
from importlib.resources import files

import falcon

#: The only static files served; everything else under ``docs/`` is a 404.
ASSETS = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui-standalone-preset.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{base}/docs/favicon-32x32.png">
<link rel="stylesheet" href="{base}/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{base}/docs/swagger-ui-bundle.js"></script>
<script src="{base}/docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: {spec_url}, dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "BaseLayout"
}});
</script>
</body>
</html>
"""


class DocsPage:
    def __init__(self, prefix: str, title: str) -> None:
        self._page = _PAGE.format(
            title=html.escape(title),
            base=html.escape(prefix),
            spec_url=json.dumps(f"{prefix}/openapi.json"),
        )

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self._page


class DocsAsset:
    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise falcon.HTTPNotFound()
        resp.content_type = media_type
        resp.data = files("swagger_ui").joinpath("static", name).read_bytes()
        resp.cache_control = ["public", "max-age=86400"]


def mount_docs(app: falcon.App[falcon.Request, falcon.Response], prefix: str, title: str) -> None:
    app.add_route(f"{prefix}/docs", DocsPage(prefix, title))
    app.add_route(f"{prefix}/docs/{{name}}", DocsAsset())
