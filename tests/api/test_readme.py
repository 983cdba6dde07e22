"""The README's quickstart runs as written against a real server."""
import os
import re
import subprocess
import unittest

from harness import REPO, StrataServer

README_KEY = "sk_my_admin_key_0123456789"


class ReadmeTest(unittest.TestCase):
    def test_quickstart_runs(self):
        with open(os.path.join(REPO, "README.md")) as f:
            readme = f.read()
        section = readme.split("## Quickstart", 1)[1]
        script = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
        server = StrataServer(extra_env={"STRATA_ADMIN_KEY": README_KEY}).start()
        try:
            # The README talks to :8080; point it at this test's server instead.
            script = re.sub(r"^export S=\S+", f"export S={server.base}", script, flags=re.M)
            self.assertIn(f"export S={server.base}", script)
            r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True,
                               timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            out = r.stdout
            self.assertIn('"status":"OK"', out.replace(" ", ""))
            self.assertRegex(out, r"(?m)^403$")
            self.assertIn('"bucket_name":"articles"', out)
            self.assertIn('"succeeded_count":2', out)
            self.assertIn('"total":2', out)          # news OR year >= 2025
            self.assertIn('"status":"COMPLETED"', out)
            # The collection's documents: one sentence of A-1, with the copied fields.
            compact = out.replace(" ", "")
            self.assertIn('"chunk_text":"Stratastoresthings."', compact)
            self.assertIn('"sku":"A-1"', compact)
            self.assertIn('"language":"en"', compact)
            # The retriever finds the sentence about storing; C-3 (tech) is filtered out.
            self.assertRegex(out, r"(?m)^top: A-1 Strata stores things\. 0\.\d+$")
            self.assertTrue(out.rstrip().endswith("Strata stores things."), out[-300:])
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
