"""The official Microsoft Graph Python SDKs through the provisioning policy workflow (docs/policies.md).

Usage: python sdk_policies.py http://127.0.0.1:PORT   (the emulator in bearer mode, with a short --upload-duration)

For each SDK (msgraph-sdk for v1.0, msgraph-beta-sdk for beta): create an image and wait until it is ready, create a
custom policy on it, assign it to a group, read the assignment back with $expand, fail to delete the image, fail to
delete the assigned policy, unassign (assign with an empty list), delete the policy, delete the image; then list the
gallery and create, read and delete a gallery policy on a listed image. Prints one line per check and a closing
"N passed, N failed" line.
"""

import asyncio
import sys
import uuid

from sdk_roundtrip import SOURCE, check, clients, results, wait_for

GROUP = "64ff06de-9c00-4a5a-98b5-7f5abe26ffff"


def model(package, module, name):
    return getattr(__import__(f"{package}.generated.models.{module}", fromlist=[name]), name)


async def expect_error(name, call, status, fragment):
    """Awaits `call`, which must raise an ODataError with this status and a message containing `fragment`."""
    try:
        await call
        check(name, False, "no error")
    except Exception as e:  # noqa: BLE001 - the SDK's ODataError, or anything that shows the check failed
        code = getattr(e, "response_status_code", None)
        message = getattr(getattr(e, "error", None), "message", "") or ""
        check(name, code == status and fragment in message, f"{code} {message!r}")


async def custom_workflow(version, client, package):
    Image = model(package, "cloud_pc_device_image", "CloudPcDeviceImage")
    Policy = model(package, "cloud_pc_provisioning_policy", "CloudPcProvisioningPolicy")
    ImageType = model(package, "cloud_pc_provisioning_policy_image_type", "CloudPcProvisioningPolicyImageType")
    Join = model(package, "cloud_pc_domain_join_configuration", "CloudPcDomainJoinConfiguration")
    JoinType = model(package, "cloud_pc_domain_join_type", "CloudPcDomainJoinType")
    Setting = model(package, "cloud_pc_windows_setting", "CloudPcWindowsSetting")
    Assignment = model(package, "cloud_pc_provisioning_policy_assignment", "CloudPcProvisioningPolicyAssignment")
    Target = model(package, "cloud_pc_management_group_assignment_target", "CloudPcManagementGroupAssignmentTarget")
    body_module = f"{package}.generated.device_management.virtual_endpoint.provisioning_policies.item.assign"
    AssignBody = __import__(f"{body_module}.assign_post_request_body", fromlist=["x"]).AssignPostRequestBody
    from kiota_abstractions.base_request_configuration import RequestConfiguration

    endpoint = client.device_management.virtual_endpoint
    images, policies = endpoint.device_images, endpoint.provisioning_policies
    name = f"Policy image {version} {uuid.uuid4().hex[:6]}"
    image = await images.post(Image(display_name=name, version="1.0.0", source_image_resource_id=SOURCE))
    await wait_for(images, image.id, "ready")
    check(f"{version} policy workflow: the image is ready", True)

    policy = await policies.post(
        Policy(
            display_name=f"{name} policy",
            image_id=image.id,
            image_type=ImageType.Custom,
            domain_join_configurations=[Join(domain_join_type=JoinType.AzureADJoin, region_name="automatic")],
            windows_setting=Setting(locale="en-US"),
        )
    )
    check(f"{version} create policy: imageDisplayName from the image", policy.image_display_name == name)
    check(f"{version} create policy: imageType parses", policy.image_type == ImageType.Custom, policy.image_type)
    joins = policy.domain_join_configurations or []
    check(f"{version} create policy: domain join parses", len(joins) == 1 and joins[0].region_name == "automatic")
    item = policies.by_cloud_pc_provisioning_policy_id(policy.id)

    await item.assign.post(AssignBody(assignments=[Assignment(target=Target(group_id=GROUP))]))
    query = item.CloudPcProvisioningPolicyItemRequestBuilderGetQueryParameters(expand=["assignments"])
    expanded = await item.get(request_configuration=RequestConfiguration(query_parameters=query))
    targets = [a.target.group_id for a in expanded.assignments or []]
    check(f"{version} assign: $expand=assignments shows the group", targets == [GROUP], targets)

    image_item = images.by_cloud_pc_device_image_id(image.id)
    await expect_error(f"{version} delete a used image -> 400", image_item.delete(), 400, "can't be deleted")
    await expect_error(f"{version} delete an assigned policy -> 400", item.delete(), 400, "no assignments")

    await item.assign.post(AssignBody(assignments=[]))
    unassigned = await item.get(request_configuration=RequestConfiguration(query_parameters=query))
    check(f"{version} assign with an empty list unassigns", unassigned.assignments == [], unassigned.assignments)
    await item.delete()
    await image_item.delete()
    remaining = await policies.get()
    check(f"{version} the policy is gone", all(p.id != policy.id for p in remaining.value))
    await expect_error(f"{version} the image is gone", image_item.get(), 404, "was not found")


async def gallery_workflow(version, client, package):
    Policy = model(package, "cloud_pc_provisioning_policy", "CloudPcProvisioningPolicy")
    ImageType = model(package, "cloud_pc_provisioning_policy_image_type", "CloudPcProvisioningPolicyImageType")
    Status = model(package, "cloud_pc_gallery_image_status", "CloudPcGalleryImageStatus")
    endpoint = client.device_management.virtual_endpoint
    gallery = (await endpoint.gallery_images.get()).value
    check(f"{version} gallery: listed with statuses", len(gallery) >= 3 and all(g.status is not None for g in gallery))
    usable = next(g for g in gallery if g.status == Status.Supported)
    retired = next(g for g in gallery if g.status == Status.NotSupported)
    check(f"{version} gallery: endDate parses as a date", usable.end_date is not None)
    got = await endpoint.gallery_images.by_cloud_pc_gallery_image_id(usable.id).get()
    check(f"{version} gallery: get by id", got.display_name == usable.display_name)

    policy = await endpoint.provisioning_policies.post(
        Policy(display_name=f"Gallery {version} {uuid.uuid4().hex[:6]}", image_id=usable.id, image_type=ImageType.Gallery)
    )
    check(f"{version} gallery policy: imageDisplayName from the gallery", policy.image_display_name == usable.display_name)
    await expect_error(
        f"{version} gallery policy on a notSupported image -> 400",
        endpoint.provisioning_policies.post(Policy(display_name="Retired", image_id=retired.id, image_type=ImageType.Gallery)),
        400,
        "notSupported",
    )
    await endpoint.provisioning_policies.by_cloud_pc_provisioning_policy_id(policy.id).delete()
    check(f"{version} gallery policy deleted", True)


async def main(base_url):
    for version, client, package in clients(base_url):
        for name, run in (("custom policy workflow", custom_workflow), ("gallery policy workflow", gallery_workflow)):
            try:
                await run(version, client, package)
            except Exception as e:  # noqa: BLE001 - any failure is a failed check, reported with its cause
                check(f"{version} {name}", False, repr(e))
    print(f"sdk policies: {results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
