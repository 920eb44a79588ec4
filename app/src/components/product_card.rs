use crate::api::ProductCardDto;
use crate::i18n::tr;
use leptos::prelude::*;

#[component]
pub fn ProductCard(product: ProductCardDto) -> impl IntoView {
    let href = format!("/p/{}", product.slug);
    let style = format!("--accent:{}", product.color);
    view! {
        <a class="card product-card" href=href style=style>
            <div class="product-art" aria-hidden="true">
                <span>{product.brand.clone()}</span>
            </div>
            <div class="product-body">
                <h3>{product.name}</h3>
                <p class="muted small">{product.summary}</p>
                {product.from_price.map(|p| view! {
                    <p class="price"><strong>{p}</strong>" "<span class="muted small">{tr("catalog.from")}</span></p>
                })}
            </div>
        </a>
    }
}
