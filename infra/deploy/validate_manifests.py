"""Validates Kubernetes manifests against the API's published schemas (kubernetes-validate, strict:
unknown fields are errors). Prints one JSON line: {"checked": [...], "errors": [...]}.

Usage: python validate_manifests.py KUBERNETES_VERSION FILE...
"""
import json
import sys

import kubernetes_validate
import yaml

version, files = sys.argv[1], sys.argv[2:]
checked, errors = [], []
for path in files:
    with open(path) as handle:
        for index, document in enumerate(yaml.safe_load_all(handle)):
            if not document:
                continue
            where = f"{path} document {index + 1} ({document.get('kind')} {document.get('metadata', {}).get('name')})"
            try:
                kubernetes_validate.validate(document, version, strict=True)
                checked.append(where)
            except kubernetes_validate.ValidationError as err:
                errors.append(f"{where}: {'.'.join(str(p) for p in err.path)}: {err.message}")
            except Exception as err:  # an unknown kind or version is an error too, not a pass
                errors.append(f"{where}: {err}")
print(json.dumps({"checked": checked, "errors": errors}))
