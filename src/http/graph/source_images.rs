//! `GET …/deviceImages/getSourceImages` (and `getSourceImages()`): the catalog as `cloudPcSourceDeviceImage`s, with
//! `$filter`, `$top`, `$skip`, `$count` and paging (docs/fidelity.md#methods-and-permissions).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::device_images::COLLECTION_PATH;
use crate::error::ApiError;
use crate::graph::enums::GraphEnum;
use crate::graph::odata::fetch::fetch_page;
use crate::graph::odata::CollectionQuery;
use crate::graph::resource::Described;
use crate::graph::{response, GraphContext};
use crate::http::graph::device_images_list::PageBody;
use crate::http::AppState;
use crate::source_images::model::{SourceImage, COLUMNS, SOURCE_IMAGES};
use crate::source_images::properties::{SourceProperty, PROPERTIES};

/// The function's result type, as its context URL names it.
const CONTEXT: &str = "$metadata#Collection(microsoft.graph.cloudPcSourceDeviceImage)";

/// One source image as a client of `ctx.version` sees it: the properties of
/// [`PROPERTIES`](crate::source_images::properties::PROPERTIES) its version has (v1.0 four; beta adds `category`
/// and the deprecated `id`, which holds the resource id).
struct SourceImageView<'a> {
    image: &'a SourceImage,
    ctx: &'a GraphContext,
}

impl Serialize for SourceImageView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let i = self.image;
        let (version, prefer) = (self.ctx.version, self.ctx.include_unknown_enum_members);
        let mut map = serializer.serialize_map(None)?;
        for def in PROPERTIES.iter().filter(|d| d.property.in_version(version)) {
            let name = def.name;
            match def.property {
                SourceProperty::Category => {
                    map.serialize_entry(name, i.category.project(version, prefer))?
                }
                SourceProperty::DisplayName => map.serialize_entry(name, &i.display_name)?,
                SourceProperty::Id | SourceProperty::ResourceId => {
                    map.serialize_entry(name, &i.resource_id)?
                }
                SourceProperty::SubscriptionDisplayName => {
                    map.serialize_entry(name, &i.subscription_display_name)?
                }
                SourceProperty::SubscriptionId => map.serialize_entry(name, &i.subscription_id)?,
            }
        }
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
