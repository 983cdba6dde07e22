"""Authentication, API keys and permissions."""
import unittest

from harness import ADMIN_KEY, ApiTestCase


class AuthTest(ApiTestCase):
    def test_health_needs_no_key(self):
        r = self.client(key=None).get("/v1/health")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["status"], "OK")

    def test_missing_and_wrong_keys_are_401(self):
        anon = self.client(key=None)
        self.assertError(anon.post("/v1/namespaces/list", {}), 401, "UnauthorizedError")
        wrong = self.client(key="sk_" + "y" * 40)
        self.assertError(wrong.post("/v1/namespaces/list", {}), 401, "UnauthorizedError")
        malformed = self.client(key="not-a-key")
        self.assertError(malformed.post("/v1/namespaces/list", {}), 401)

    def test_read_key_is_refused_on_write(self):
        r = self.admin.post("/v1/organizations/users/reader@example.com/api-keys",
                            {"name": "reader", "permissions": ["read"]})
        self.assertEqual(r.status_code, 200, r.text)
        created = r.json()
        key = created["key"]
        self.assertTrue(key.startswith("sk_"))
        self.assertEqual(created["key_prefix"], key[:10])
        self.assertNotIn(key, created["key_hash"])
        reader = self.client(key=key)
        self.assertEqual(reader.post("/v1/namespaces/list", {}).status_code, 200)
        body = self.assertError(reader.post("/v1/namespaces", {
            "namespace_name": "nope",
            "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1"}]}),
            403, "ForbiddenError")
        self.assertIn("write", body["error"]["message"])
        # and nothing was written
        names = [n["namespace_name"] for n in self.admin.post("/v1/namespaces/list", {}).json()["results"]]
        self.assertNotIn("nope", names)
        # a read key cannot manage keys either
        self.assertError(reader.get("/v1/organizations/users/reader@example.com/api-keys"), 403)

    def test_key_is_shown_once_and_listed_without_secret(self):
        r = self.admin.post("/v1/organizations/users/lister@example.com/api-keys", {"name": "lister"})
        key = r.json()["key"]
        listed = self.admin.get("/v1/organizations/users/lister@example.com/api-keys").json()["keys"]
        self.assertEqual([k["name"] for k in listed], ["lister"])
        self.assertNotIn("key", listed[0])
        self.assertNotIn(key, str(listed))

    def test_duplicate_key_name_is_409(self):
        self.admin.post("/v1/organizations/users/dup@example.com/api-keys", {"name": "dup-key"})
        r = self.admin.post("/v1/organizations/users/dup@example.com/api-keys", {"name": "dup-key"})
        self.assertError(r, 409, "AlreadyExistsError")

    def test_revoke_and_rotate(self):
        base = "/v1/organizations/users/rot@example.com/api-keys"
        key = self.admin.post(base, {"name": "rot", "permissions": ["read", "write"]}).json()["key"]
        self.assertEqual(self.client(key=key).post("/v1/namespaces/list", {}).status_code, 200)
        rotated = self.admin.post(f"{base}/rot/rotate")
        self.assertEqual(rotated.status_code, 200, rotated.text)
        new_key = rotated.json()["key"]
        self.assertNotEqual(new_key, key)
        self.assertError(self.client(key=key).post("/v1/namespaces/list", {}), 401)
        self.assertEqual(self.client(key=new_key).post("/v1/namespaces/list", {}).status_code, 200)
        self.assertEqual(self.admin.delete(f"{base}/rot").status_code, 200)
        body = self.assertError(self.client(key=new_key).post("/v1/namespaces/list", {}), 401)
        self.assertIn("revoked", body["error"]["message"])
        listed = self.admin.get(base, params={"include_revoked": "true"}).json()["keys"]
        self.assertEqual(listed[0]["status"], "revoked")
        self.assertEqual(self.admin.get(base).json()["keys"], [])

    def test_patch_key_permissions(self):
        base = "/v1/organizations/users/p@example.com/api-keys"
        key = self.admin.post(base, {"name": "pk", "permissions": ["read"]}).json()["key"]
        r = self.admin.patch(f"{base}/pk", {"permissions": ["read", "write"]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["permissions"], ["read", "write"])
        self.assertError(self.admin.patch(f"{base}/pk", {"permissions": ["root"]}), 422, "ValidationError")
        self.assertError(self.admin.patch(f"{base}/missing", {"description": "x"}), 404)
        ns = self.client(key=key).post("/v1/namespaces", {
            "namespace_name": "patched-key-ns",
            "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1"}]})
        self.assertEqual(ns.status_code, 200, ns.text)

    def test_expired_key_is_refused(self):
        base = "/v1/organizations/users/exp@example.com/api-keys"
        key = self.admin.post(base, {"name": "exp", "expires_at": "2020-01-01T00:00:00Z"}).json()["key"]
        body = self.assertError(self.client(key=key).post("/v1/namespaces/list", {}), 401)
        self.assertIn("expired", body["error"]["message"])

    def test_organization(self):
        r = self.admin.get("/v1/organizations")
        self.assertEqual(r.status_code, 200, r.text)
        org = r.json()
        self.assertTrue(org["organization_id"].startswith("org_"))
        r = self.admin.patch("/v1/organizations", {"organization_name": "Acme"})
        self.assertEqual(r.json()["organization_name"], "Acme")


class TenantIsolationTest(ApiTestCase):
    """Two organizations on one server see nothing of each other."""

    def test_other_organization_sees_nothing(self):
        r = self.admin.post("/v1/private/organizations", {"organization_name": "Globex"})
        self.assertEqual(r.status_code, 200, r.text)
        org = r.json()
        r = self.admin.post(f"/v1/private/organizations/{org['organization_id']}/users/boss@globex.com/bootstrap-key")
        self.assertEqual(r.status_code, 200, r.text)
        other = self.client(key=r.json()["key"])
        # a Globex admin is not the operator
        self.assertError(other.post("/v1/private/organizations", {"organization_name": "x"}), 403)

        ns = self.make_namespace("shared-name")
        bucket_body = {"bucket_name": "b", "bucket_schema": {"properties": {"t": {"type": "string"}}}}
        mine = self.client(namespace="shared-name")
        bucket = mine.post("/v1/buckets", bucket_body).json()
        obj = mine.post("/v1/buckets/b/objects", {"t": "secret"}).json()

        # the same names are free in the other organization, and resolve to its own things
        self.assertError(other.get(f"/v1/namespaces/{ns['namespace_id']}"), 404)
        self.assertError(self.client(key=other.key, namespace=ns["namespace_id"]).post("/v1/buckets/list", {}), 404)
        self.assertEqual(other.post("/v1/namespaces/list", {}).json()["results"], [])
        r = other.post("/v1/namespaces", {"namespace_name": "shared-name",
                       "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1"}]})
        self.assertEqual(r.status_code, 200, r.text)
        theirs = self.client(key=other.key, namespace="shared-name")
        self.assertEqual(theirs.post("/v1/buckets/list", {}).json()["results"], [])
        self.assertError(theirs.get(f"/v1/buckets/{bucket['bucket_id']}"), 404)
        theirs.post("/v1/buckets", bucket_body)
        self.assertError(theirs.get(f"/v1/buckets/b/objects/{obj['object_id']}"), 404)
        self.assertEqual(theirs.post("/v1/buckets/b/objects/list", {}).json()["results"], [])
        self.assertError(theirs.delete(f"/v1/namespaces/{ns['namespace_id']}"), 404)
        self.assertEqual(other.get("/v1/organizations/users/admin@localhost/api-keys").json()["keys"], [])
        self.assertError(other.delete("/v1/organizations/users/admin@localhost/api-keys/bootstrap-admin"), 404)
        # mine is untouched
        self.assertEqual(mine.get(f"/v1/buckets/b/objects/{obj['object_id']}").json()["t"], "secret")


if __name__ == "__main__":
    unittest.main()
