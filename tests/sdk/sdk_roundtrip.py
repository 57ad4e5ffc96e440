"""The official Microsoft Graph Python SDKs against a running emulator.

Usage: python sdk_roundtrip.py http://127.0.0.1:PORT

Both SDKs (msgraph-sdk for v1.0, msgraph-beta-sdk for beta) create, get, list and delete an image, and receive a
proper ODataError for a missing id and for a duplicate; they list with $filter, $select, $orderby, $top and $count,
walk the pages with msgraph_core's PageIterator, and read the $count segment; they list getSourceImages and poll an
upload until it is ready, and the beta SDK retries a failed upload with retry_upload. Then the request journal is
checked for the SDK's requests (by request-id, never with the token), and a 429 fault rule is retried by the SDK.
msgraph_core's BatchRequestContent sends a create and a dependent list in one $batch. The SDK is pointed at the emulator through
`request_adapter.base_url` with a small custom AccessTokenProvider (docs/fidelity.md#what-the-python-sdks-send).
Prints one line per check and a closing "N passed, N failed" line.
"""

import asyncio
import sys
import uuid

from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)

# A source the emulator's seeded catalog holds (it uploads to ready as Windows 11 Enterprise 24H2).
SOURCE = (
    "/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images"
    "/providers/Microsoft.Compute/images/win11-24h2"
)
results = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    if condition:
        results["passed"] += 1
        print(f"ok   {name}")
    else:
        results["failed"] += 1
        print(f"FAIL {name} {detail}")


TOKEN = "emulator-test-token"
NOT_FOUND_REQUEST_IDS = []


class StaticTokenProvider(AccessTokenProvider):
    """Hands the SDK a fixed token: the emulator's bearer mode accepts any non-empty one."""

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return TOKEN

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator([])


def clients(base_url):
    from msgraph import GraphServiceClient
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph_beta import GraphServiceClient as BetaGraphServiceClient
    from msgraph_beta.graph_request_adapter import GraphRequestAdapter as BetaGraphRequestAdapter

    auth = BaseBearerTokenAuthenticationProvider(StaticTokenProvider())
    v1_adapter = GraphRequestAdapter(auth)
    v1_adapter.base_url = f"{base_url}/v1.0"
    beta_adapter = BetaGraphRequestAdapter(auth)
    beta_adapter.base_url = f"{base_url}/beta"
    return (
        ("v1.0", GraphServiceClient(request_adapter=v1_adapter), "msgraph"),
        ("beta", BetaGraphServiceClient(request_adapter=beta_adapter), "msgraph_beta"),
    )


async def round_trip(version, client, package):
    models = __import__(f"{package}.generated.models.cloud_pc_device_image", fromlist=["CloudPcDeviceImage"])
    status_enum = __import__(
        f"{package}.generated.models.cloud_pc_device_image_status", fromlist=["CloudPcDeviceImageStatus"]
    ).CloudPcDeviceImageStatus
    errors = __import__(f"{package}.generated.models.o_data_errors.o_data_error", fromlist=["ODataError"])
    images = client.device_management.virtual_endpoint.device_images
    name = f"SDK {version} {uuid.uuid4().hex[:8]}"

    created = await images.post(
        models.CloudPcDeviceImage(display_name=name, version="1.0.0", source_image_resource_id=SOURCE)
    )
    check(f"{version} create returns the image", created is not None and created.display_name == name)
    check(f"{version} create: status parses as the SDK enum", created.status == status_enum.Pending, created.status)
    # A time-ordered GUID (UUIDv7, docs/fidelity.md), which the SDK treats as any other id.
    check(
        f"{version} create: id is a GUID",
        created.id is not None and created.id == str(uuid.UUID(created.id)) and uuid.UUID(created.id).version == 7,
    )
    if version == "beta":
        check("beta create: scopeIds is a list", created.scope_ids == [], created.scope_ids)

    got = await images.by_cloud_pc_device_image_id(created.id).get()
    check(f"{version} get returns the same image", got.id == created.id and got.version == "1.0.0")
    check(f"{version} get: lastModifiedDateTime parses", got.last_modified_date_time is not None)

    page = await images.get()
    check(f"{version} list contains the image", any(i.id == created.id for i in page.value))

    try:
        await images.post(
            models.CloudPcDeviceImage(display_name=name.upper(), version="1.0.0", source_image_resource_id=SOURCE)
        )
        check(f"{version} duplicate create raises", False)
    except errors.ODataError as e:
        check(f"{version} duplicate create -> ODataError 409", e.response_status_code == 409, e.response_status_code)
        check(f"{version} duplicate create: code", e.error is not None and e.error.code == "conflict")

    await images.by_cloud_pc_device_image_id(created.id).delete()
    try:
        await images.by_cloud_pc_device_image_id(created.id).get()
        check(f"{version} get after delete raises", False)
    except errors.ODataError as e:
        check(f"{version} get after delete -> ODataError 404", e.response_status_code == 404, e.response_status_code)
        check(f"{version} 404 code is ResourceNotFound", e.error.code == "ResourceNotFound", e.error.code)
        inner = e.error.inner_error
        check(f"{version} 404 innerError has a request id", inner is not None and bool(inner.request_id))
        NOT_FOUND_REQUEST_IDS.append(inner.request_id)


async def query_round_trip(version, client, package):
    """$filter, $select, $orderby, $top and $count through the SDK's query parameters, then PageIterator."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph_core.tasks.page_iterator import PageIterator

    builders = f"{package}.generated.device_management.virtual_endpoint.device_images"
    list_builder = __import__(f"{builders}.device_images_request_builder", fromlist=["x"]).DeviceImagesRequestBuilder
    count_builder = __import__(f"{builders}.count.count_request_builder", fromlist=["x"]).CountRequestBuilder
    models = __import__(f"{package}.generated.models.cloud_pc_device_image", fromlist=["CloudPcDeviceImage"])
    images = client.device_management.virtual_endpoint.device_images
    prefix = f"Query {version} {uuid.uuid4().hex[:6]}"
    names = [f"{prefix} {i}" for i in range(5)]
    created = []
    for name in names:
        image = models.CloudPcDeviceImage(display_name=name, version="1.0.0", source_image_resource_id=SOURCE)
        created.append(await images.post(image))

    params = list_builder.DeviceImagesRequestBuilderGetQueryParameters(
        filter=f"startswith(displayName, '{prefix}')",
        select=["id", "displayName"],
        orderby=["displayName desc"],
        top=2,
        count=True,
    )
    page = await images.get(request_configuration=RequestConfiguration(query_parameters=params))
    check(f"{version} query: @odata.count counts every match", page.odata_count == 5, page.odata_count)
    check(f"{version} query: $top bounds the page", len(page.value) == 2, len(page.value))
    check(f"{version} query: $orderby desc", [i.display_name for i in page.value] == names[::-1][:2])
    check(f"{version} query: $select leaves the rest unset", all(i.version is None for i in page.value))
    check(f"{version} query: a next link", bool(page.odata_next_link), page.odata_next_link)

    seen = []
    iterator = PageIterator(page, client.request_adapter)
    await iterator.iterate(lambda item: seen.append(item.display_name) or True)
    check(f"{version} PageIterator walks every page in order", seen == names[::-1], seen)

    count_params = count_builder.CountRequestBuilderGetQueryParameters(filter=f"startswith(displayName, '{prefix}')")
    n = await images.count.get(request_configuration=RequestConfiguration(query_parameters=count_params))
    check(f"{version} $count segment", n == 5, n)
    for image in created:
        await images.by_cloud_pc_device_image_id(image.id).delete()


async def wait_for(images, image_id, status_name, timeout=20.0):
    """Polls the image until its status is `status_name`, as tools that manage images do."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        image = await images.by_cloud_pc_device_image_id(image_id).get()
        if image.status is not None and image.status.value == status_name:
            return image
        if loop.time() > deadline:
            raise TimeoutError(f"{image_id} stayed {image.status}")
        await asyncio.sleep(0.25)


async def lifecycle_round_trip(version, client, package, base_url):
    """getSourceImages, a poll-until-ready loop, and (beta) retry_upload after the catalog learns a missing source."""
    models = __import__(f"{package}.generated.models.cloud_pc_device_image", fromlist=["CloudPcDeviceImage"])
    images = client.device_management.virtual_endpoint.device_images

    sources = await images.get_source_images.get()
    ids = [s.resource_id for s in sources.value]
    check(f"{version} getSourceImages lists the catalog", SOURCE in ids, ids)
    if version == "beta":
        check("beta getSourceImages: category parses", sources.value[0].category is not None)

    name = f"Lifecycle {version} {uuid.uuid4().hex[:6]}"
    image = await images.post(
        models.CloudPcDeviceImage(display_name=name, version="1.0.0", source_image_resource_id=SOURCE)
    )
    ready = await wait_for(images, image.id, "ready")
    check(f"{version} poll until ready: OS filled from the catalog", ready.operating_system == "Windows 11 Enterprise")
    check(f"{version} ready image: sizeInGB", ready.size_in_g_b == 64, ready.size_in_g_b)
    check(f"{version} ready image: expirationDate parses as a date", str(ready.expiration_date) == "2027-10-12")
    await images.by_cloud_pc_device_image_id(image.id).delete()
    if version != "beta":
        return

    missing = f"/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-sdk/providers/Microsoft.Compute/images/{uuid.uuid4().hex[:8]}"
    image = await images.post(
        models.CloudPcDeviceImage(display_name=name + " retry", version="1.0.0", source_image_resource_id=missing)
    )
    failed = await wait_for(images, image.id, "failed")
    check("beta failed upload: errorCode", failed.error_code is not None and failed.error_code.value == "sourceImageNotFound")
    import httpx

    async with httpx.AsyncClient() as http:
        res = await http.put(f"{base_url}/_emulator/source-images{missing}", json={"outcome": "ready"})
        check("beta catalog entry added", res.status_code == 201, res.status_code)
    await images.by_cloud_pc_device_image_id(image.id).retry_upload.post()
    retried = await images.by_cloud_pc_device_image_id(image.id).get()
    check("beta retry_upload -> pending", retried.status.value == "pending", retried.status)
    await wait_for(images, image.id, "ready")
    check("beta retried upload ends ready", True)
    await images.by_cloud_pc_device_image_id(image.id).delete()


async def control_round_trip(client, base_url, not_found_request_ids):
    """The request journal holds the SDK's requests and never the token; a 429 rule is retried by the SDK itself."""
    import httpx

    images = client.device_management.virtual_endpoint.device_images
    async with httpx.AsyncClient(base_url=f"{base_url}/_emulator") as http:
        journal = (await http.get("/requests", params={"limit": 1000})).json()["value"]
        check("journal: holds the SDK's requests", any("kiota" in e["requestHeaders"].get("user-agent", "") for e in journal))
        journaled = {e["requestId"]: e["status"] for e in journal}
        check(
            "journal: the request-ids of the SDK's 404s",
            all(journaled.get(rid) == 404 for rid in not_found_request_ids) and bool(not_found_request_ids),
            not_found_request_ids,
        )
        raw = (await http.get("/requests", params={"limit": 1000})).text
        check("journal: never the Authorization value", TOKEN not in raw and "[redacted]" in raw)

        await http.delete("/requests")
        rule = {"action": "error", "status": 429, "retryAfter": 1, "count": 1, "method": "GET", "path": "*/deviceImages"}
        res = await http.post("/faults", json=rule)
        check("fault: a 429 rule with a count of 1", res.status_code == 201, res.text)
        page = await images.get()
        check("fault: the SDK retried the 429 by itself and succeeded", page is not None and page.value is not None)
        attempts = (await http.get("/requests", params={"path": "deviceImages", "method": "GET"})).json()["value"]
        statuses = [e["status"] for e in reversed(attempts)]
        check("journal: both attempts, the 429 then the 200", statuses == [429, 200], statuses)
        retry = attempts[0]["requestHeaders"].get("retry-attempt") if attempts else None
        check("journal: the retry carries Retry-Attempt", retry == "1", retry)


async def batch_round_trip(version, client, package):
    """msgraph_core's BatchRequestContent: a create and a dependent list in one $batch."""
    from msgraph_core.requests.batch_request_builder import BatchRequestBuilder
    from msgraph_core.requests.batch_request_content import BatchRequestContent
    from msgraph_core.requests.batch_request_item import BatchRequestItem

    models = __import__(f"{package}.generated.models.cloud_pc_device_image", fromlist=["CloudPcDeviceImage"])
    images = client.device_management.virtual_endpoint.device_images
    name = f"Batch {version} {uuid.uuid4().hex[:6]}"
    create = images.to_post_request_information(
        models.CloudPcDeviceImage(display_name=name, version="1.0.0", source_image_resource_id=SOURCE)
    )
    create.path_parameters["baseurl"] = client.request_adapter.base_url
    listing = images.to_get_request_information()
    listing.path_parameters["baseurl"] = client.request_adapter.base_url
    first = BatchRequestItem(request_information=create)
    second = BatchRequestItem(request_information=listing, depends_on=[first])
    content = BatchRequestContent({first.id: first, second.id: second})
    result = await BatchRequestBuilder(client.request_adapter).post(content)
    codes = result.get_response_status_codes()
    check(f"{version} batch: the create answered 201", codes.get(first.id) == 201, codes)
    check(f"{version} batch: the dependent list answered 200", codes.get(second.id) == 200, codes)
    found = await images.get()
    created = [i for i in found.value if i.display_name == name]
    check(f"{version} batch: the image exists", len(created) == 1)
    for image in created:
        await images.by_cloud_pc_device_image_id(image.id).delete()


async def main(base_url):
    for version, client, package in clients(base_url):
        runs = (
            ("round trip", round_trip),
            ("query round trip", query_round_trip),
            ("lifecycle", lambda *a: lifecycle_round_trip(*a, base_url)),
            ("batch", batch_round_trip),
        )
        for name, run in runs:
            try:
                await run(version, client, package)
            except Exception as e:  # noqa: BLE001 - any failure is a failed check, reported with its cause
                check(f"{version} {name}", False, repr(e))
    try:
        await control_round_trip(clients(base_url)[1][1], base_url, NOT_FOUND_REQUEST_IDS)
    except Exception as e:  # noqa: BLE001
        check("control plane", False, repr(e))
    print(f"sdk: {results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
