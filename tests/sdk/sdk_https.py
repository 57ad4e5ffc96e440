"""The official Microsoft Graph beta SDK over https, trusting the emulator's self-signed certificate through
SSL_CERT_FILE, with a token minted by `cloudpc-emulator token` for `--auth jwt`.

Usage: SSL_CERT_FILE=…/tls-self-signed.pem python sdk_https.py https://localhost:PORT TOKEN
"""

import asyncio
import sys

from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)

SOURCE = (
    "/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images"
    "/providers/Microsoft.Compute/images/win11-24h2"
)


class MintedToken(AccessTokenProvider):
    def __init__(self, token):
        self.token = token

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self.token

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator([])


async def main(base_url, token):
    from msgraph_beta import GraphServiceClient
    from msgraph_beta.generated.models.cloud_pc_device_image import CloudPcDeviceImage
    from msgraph_beta.graph_request_adapter import GraphRequestAdapter

    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(MintedToken(token)))
    adapter.base_url = f"{base_url}/beta"
    images = GraphServiceClient(request_adapter=adapter).device_management.virtual_endpoint.device_images
    created = await images.post(
        CloudPcDeviceImage(display_name="Over https", version="1.0.0", source_image_resource_id=SOURCE)
    )
    got = await images.by_cloud_pc_device_image_id(created.id).get()
    ok = got.display_name == "Over https"
    print("ok   https: create and get with a minted token" if ok else f"FAIL https: {got}")
    print(f"sdk-https: {1 if ok else 0} passed, {0 if ok else 1} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
