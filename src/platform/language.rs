//! The shop's two languages: Chinese (the default) and English. Names that buyers see are
//! stored in both (a SKU's `name_zh`/`name_en`, an order line's names as bought); a buyer's
//! messages are written in the language they shopped in.

/// A language the shop speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Language {
    #[default]
    ZhCn,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::ZhCn, Language::En];

    /// Its BCP 47 tag, as pages and orders store it.
    pub fn tag(self) -> &'static str {
        match self {
            Self::ZhCn => "zh-CN",
            Self::En => "en",
        }
    }

    /// The language a tag names; anything else is the shop's default, Chinese.
    pub fn of(tag: Option<&str>) -> Self {
        Self::ALL.into_iter().find(|l| Some(l.tag()) == tag).unwrap_or_default()
    }

    /// Of a name written in both languages, the one in this language (the other when
    /// this one is empty).
    pub fn choose<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::ZhCn if !zh.is_empty() => zh,
            Self::En if !en.is_empty() => en,
            Self::ZhCn => en,
            Self::En => zh,
        }
    }
}
