"""Writes the .meta file Unity needs beside every file and folder of this package (an immutable
package, installed from a git URL, gets no metas generated). GUIDs are derived from the path, so
running it again changes nothing; existing metas are kept. Run it after adding a file:

    python3 engine_clients/unity/Tests/make_metas.py
"""

import hashlib
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAIL = "  userData: \n  assetBundleName: \n  assetBundleVariant: \n"


def meta(rel: str, is_dir: bool) -> str:
    head = f"fileFormatVersion: 2\nguid: {hashlib.md5(('com.facebridge.client/' + rel).encode()).hexdigest()}\n"
    ext = os.path.splitext(rel)[1]
    if is_dir:
        return head + "folderAsset: yes\nDefaultImporter:\n  externalObjects: {}\n" + TAIL
    if ext == ".cs":
        return head + ("MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n"
                       "  executionOrder: 0\n  icon: {instanceID: 0}\n") + TAIL
    if ext == ".asmdef":
        return head + "AssemblyDefinitionImporter:\n  externalObjects: {}\n" + TAIL
    if rel == "package.json":
        return head + "PackageManifestImporter:\n  externalObjects: {}\n" + TAIL
    if ext == ".asset":
        return head + "NativeFormatImporter:\n  externalObjects: {}\n  mainObjectFileID: 11400000\n" + TAIL
    if ext in (".json", ".md", ".txt"):
        return head + "TextScriptImporter:\n  externalObjects: {}\n" + TAIL
    return head + "DefaultImporter:\n  externalObjects: {}\n" + TAIL


def main() -> None:
    written = 0
    for dirpath, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel_dir = os.path.relpath(dirpath, ROOT)
        entries = [(d, True) for d in dirs if not d.endswith("~")] + [(f, False) for f in files if not f.endswith(".meta")]
        for name, is_dir in entries:
            path = os.path.join(dirpath, name + ".meta")
            if not os.path.exists(path):
                with open(path, "w") as f:
                    f.write(meta(os.path.normpath(os.path.join(rel_dir, name)), is_dir))
                written += 1
    print(f"{written} .meta file(s) written")


if __name__ == "__main__":
    main()
