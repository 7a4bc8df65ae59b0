//! Reads a batch answer (`{"create": [...], "update": [...], "delete": [...]}`) in one
//! pass over its text, each item straight into its type or into the error WooCommerce
//! put in its place (`{"id": 0, "error": {"code": ..., "message": ..., "data": ...}}`).
//!
//! Written by hand because serde offers no cheap "this type, or an object holding
//! `error`": `#[serde(untagged)]` first copies every item into a generic tree, which for
//! 100 products of some 2 kB each is most of the work. Here the item's keys are passed to
//! the type's own visitor as they come, and only a top-level `error` key is taken aside,
//! so an item is read once and nothing is copied. An answer this reader cannot take (an
//! odd shape, a field of the wrong kind) is left to the caller's slower, forgiving path.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// One item of a batch answer: the item as `T`, or the `error` object in its place.
pub(crate) struct Item<T>(pub(crate) Result<T, Value>);

/// The three lists of a batch answer, each in request order; a missing list is empty.
#[derive(serde::Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
pub(crate) struct Sections<T> {
    /// Answers to the creates.
    #[serde(default = "Vec::new")]
    pub(crate) create: Vec<Item<T>>,
    /// Answers to the updates.
    #[serde(default = "Vec::new")]
    pub(crate) update: Vec<Item<T>>,
    /// Answers to the deletes.
    #[serde(default = "Vec::new")]
    pub(crate) delete: Vec<Item<T>>,
}

impl<'de, T: DeserializeOwned> de::Deserialize<'de> for Item<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut error = None;
        let read = T::deserialize(ErrorAside {
            inner: d,
            error: &mut error,
        });
        match (read, error) {
            // An `error` object wins over whatever else the item held.
            (_, Some(e)) if !e.is_null() => Ok(Item(Err(e))),
            (Ok(t), _) => Ok(Item(Ok(t))),
            (Err(e), _) => Err(e),
        }
    }
}

/// A deserializer of one item that hands its keys to `T` and keeps `error` aside.
struct ErrorAside<'a, D> {
    inner: D,
    error: &'a mut Option<Value>,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ErrorAside<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(AsideVisitor {
            visitor,
            error: self.error,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct
        enum identifier ignored_any
    }
}

struct AsideVisitor<'a, V> {
    visitor: V,
    error: &'a mut Option<Value>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for AsideVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a batch item object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(AsideMap {
            map,
            error: self.error,
        })
    }
}

/// The item's map with its `error` entry taken out.
struct AsideMap<'a, A> {
    map: A,
    error: &'a mut Option<Value>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for AsideMap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(Key(key)) = self.map.next_key::<Key<'de>>()? else {
                return Ok(None);
            };
            if key == "error" {
                *self.error = Some(self.map.next_value()?);
                continue;
            }
            return match key {
                Cow::Borrowed(k) => seed.deserialize(BorrowedStrDeserializer::new(k)),
                Cow::Owned(k) => seed.deserialize(StringDeserializer::new(k)),
            }
            .map(Some);
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// A map key, borrowed from the text when it holds no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor<'de>(PhantomData<&'de ()>);
        impl<'de> Visitor<'de> for KeyVisitor<'de> {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct P {
        id: u64,
        #[serde(default)]
        sku: String,
    }

    fn read(text: &str) -> Result<Sections<P>, serde_json::Error> {
        serde_json::from_str(text)
    }

    #[test]
    fn items_and_errors_are_told_apart_by_a_top_level_error_key_only() {
        let s = read(
            r#"{"create":[{"id":5,"sku":"A","meta_data":[{"key":"error","value":"x"}]},
                {"id":0,"error":{"code":"product_invalid_sku","message":"m"}},
                {"id":7,"sk\u0075":"B","error":null}],
               "update":[{"error":{"code":"woocommerce_rest_product_invalid_id"}}]}"#,
        )
        .unwrap();
        let create: Vec<_> = s.create.into_iter().map(|i| i.0).collect();
        assert_eq!(
            create[0].as_ref().unwrap(),
            &P {
                id: 5,
                sku: "A".into()
            }
        );
        assert_eq!(
            create[1].as_ref().unwrap_err()["code"],
            "product_invalid_sku"
        );
        // A null error is no error; an escaped key is still the field it names.
        assert_eq!(
            create[2].as_ref().unwrap(),
            &P {
                id: 7,
                sku: "B".into()
            }
        );
        // An error item without the type's required fields is still the error.
        let update = &s.update[0].0;
        assert_eq!(
            update.as_ref().unwrap_err()["code"],
            "woocommerce_rest_product_invalid_id"
        );
        assert!(s.delete.is_empty());
    }

    #[test]
    fn an_item_of_another_shape_is_refused() {
        assert!(read(r#"{"create":[{"sku":"A"}]}"#).is_err());
        assert!(read(r#"{"create":[7]}"#).is_err());
        // An empty request answers `[]`: no items in any list.
        let empty = read("[]").unwrap();
        assert!(empty.create.is_empty() && empty.update.is_empty() && empty.delete.is_empty());
    }
}
