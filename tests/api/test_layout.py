"""The API's features return what they publish: a feature's service (api/<feature>/
service.py) answers its routes with contract models (api.contracts), never a bare dict."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dict_answers(root: Path) -> set[str]:
    """The public methods of the features' service classes under `root` whose return
    annotation holds a dict."""
    found = set()
    for path in sorted(root.glob("*/service.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.ClassDef):
                continue
            for method in node.body:
                if not isinstance(method, ast.FunctionDef) or method.name.startswith("_"):
                    continue
                returns = ast.unparse(method.returns) if method.returns else ""
                if "dict" in returns.lower():
                    found.add(f"{path.relative_to(root)}:{node.name}.{method.name}")
    return found


def test_every_feature_service_answers_with_contract_models() -> None:
    features = {path.parent.name for path in (ROOT / "api").glob("*/service.py")}
    assert features >= {"charges", "customers", "refunds", "reviews", "webhooks", "marketplaces"}
    assert dict_answers(ROOT / "api") == set()


def test_the_check_finds_a_public_dict_answer(tmp_path: Path) -> None:
    (tmp_path / "planted").mkdir()
    (tmp_path / "planted" / "service.py").write_text(
        "class S:\n"
        "    def read(self) -> dict[str, Any]: ...\n"
        "    def model(self) -> Customer: ...\n"
        "    def _json(self) -> dict[str, Any]: ...\n"
    )
    assert dict_answers(tmp_path) == {"planted/service.py:S.read"}
