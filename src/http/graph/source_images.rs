//! `GET …/deviceImages/getSourceImages` (and `getSourceImages()`): the catalog as `cloudPcSourceDeviceImage`s, with
//! `$filter`, `$top`, `$skip`, `$count` and paging (docs/fidelity.md#methods-and-permissions).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::device_images::COLLECTION_PATH;
use crate::error::ApiError;
use crate::graph::enums::SOURCE_IMAGE_CATEGORY;
use crate::graph::odata::fetch::fetch_page;
use crate::graph::odata::CollectionQuery;
use crate::graph::{response, ApiVersion, GraphContext};
use crate::http::graph::device_images_list::PageBody;
use crate::http::AppState;
use crate::source_images::model::{SourceImage, COLUMNS, SOURCE_IMAGES};

/// The function's result type, as its context URL names it.
const CONTEXT: &str = "$metadata#Collection(microsoft.graph.cloudPcSourceDeviceImage)";

/// One source image as a client of `ctx.version` sees it: v1.0 has four properties; beta adds `category` and the
/// deprecated `id` (which holds the resource id).
struct SourceImageView<'a> {
    image: &'a SourceImage,
    ctx: &'a GraphContext,
}

impl Serialize for SourceImageView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let i = self.image;
        let mut map = serializer.serialize_map(None)?;
        if self.ctx.version == ApiVersion::Beta {
            let category = SOURCE_IMAGE_CATEGORY.project(
                &i.category,
                ApiVersion::Beta,
                self.ctx.include_unknown_enum_members,
            );
            map.serialize_entry("category", category)?;
        }
        map.serialize_entry("displayName", &i.display_name)?;
        if self.ctx.version == ApiVersion::Beta {
            map.serialize_entry("id", &i.resource_id)?;
        }
        map.serialize_entry("resourceId", &i.resource_id)?;
        map.serialize_entry("subscriptionDisplayName", &i.subscription_display_name)?;
        map.serialize_entry("subscriptionId", &i.subscription_id)?;
        map.end()
    }
}

/// Lists the catalog, one page per request.
pub async fn get_source_images(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
) -> Result<HttpResponse, ApiError> {
    let query = CollectionQuery::parse(
        req.query_string(),
        &SOURCE_IMAGES,
        ctx.version,
        ctx.include_unknown_enum_members,
        &[],
    )?;
    let page = fetch_page(
        &state.db,
        &query,
        "",
        COLUMNS,
        state.settings.page_size,
        &format!("{}/{COLLECTION_PATH}/getSourceImages", ctx.base),
        SourceImage::from_row,
    )
    .await?;
    let body = PageBody {
        context: format!("{}/{CONTEXT}", ctx.base),
        count: page.count,
        next_link: page.next_link,
        value: page
            .items
            .iter()
            .map(|image| SourceImageView { image, ctx })
            .collect(),
    };
    response::json(StatusCode::OK, ctx, &body)
}
