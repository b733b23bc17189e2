//! A JSON object that keeps its keys in the order they were added.
//!
//! serde_json's own `Map` sorts its keys unless a crate-wide feature is turned on; the JSON
//! lines read better in the standard's field order, so objects are built here as ordered
//! lists and serialized as maps.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// A JSON value whose objects keep their key order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// A scalar (number, string, bool, null).
    Scalar(Value),
    /// An object, keys in insertion order.
    Object(Object),
    /// A list.
    List(Vec<Json>),
}

/// An ordered JSON object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object(Vec<(&'static str, Json)>);

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Object(Vec::new())
    }

    /// Adds `key` with a scalar or nested value.
    pub fn with(mut self, key: &'static str, value: impl Into<Json>) -> Self {
        self.0.push((key, value.into()));
        self
    }

    /// Adds `key` when `value` is present.
    pub fn with_some(self, key: &'static str, value: Option<impl Into<Json>>) -> Self {
        match value {
            Some(value) => self.with(key, value),
            None => self,
        }
    }

    /// Appends every entry of `other`.
    pub fn extend(mut self, other: Object) -> Self {
        self.0.extend(other.0);
        self
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|(key, _)| *key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.0
            .iter()
            .find_map(|(name, value)| (*name == key).then_some(value))
    }

    /// The same object as a serde_json value (key order is then serde_json's).
    pub fn to_value(&self) -> Value {
        Json::Object(self.clone()).to_value()
    }
}

impl Json {
    /// The same value as a serde_json value (object key order is then serde_json's).
    pub fn to_value(&self) -> Value {
        match self {
            Json::Scalar(value) => value.clone(),
            Json::Object(object) => Value::Object(
                object
                    .0
                    .iter()
                    .map(|(key, value)| ((*key).to_owned(), value.to_value()))
                    .collect(),
            ),
            Json::List(items) => Value::Array(items.iter().map(Json::to_value).collect()),
        }
    }
}

impl From<Object> for Json {
    fn from(object: Object) -> Self {
        Json::Object(object)
    }
}

impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Self {
        Json::List(items)
    }
}

macro_rules! scalar_from {
    ($($type:ty),*) => {
        $(impl From<$type> for Json {
            fn from(value: $type) -> Self {
                Json::Scalar(Value::from(value))
            }
        })*
    };
}

scalar_from!(u8, u16, u32, u64, i8, i16, i32, i64, bool, String, &str);

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Scalar(value) => value.serialize(serializer),
            Json::Object(object) => object.serialize(serializer),
            Json::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_keys_keep_their_order() {
        let object = Object::new()
            .with("seconds", 1u64)
            .with("nanoseconds", 2u32)
            .with_some("absent", None::<u8>)
            .with(
                "list",
                vec![Json::from("a"), Object::new().with("z", 1u8).into()],
            );
        let text = serde_json::to_string(&object).unwrap();
        assert_eq!(
            text,
            r#"{"seconds":1,"nanoseconds":2,"list":["a",{"z":1}]}"#
        );
        assert_eq!(
            object.to_value(),
            serde_json::json!({"nanoseconds": 2, "seconds": 1, "list": ["a", {"z": 1}]})
        );
        assert_eq!(
            object.keys().collect::<Vec<_>>(),
            ["seconds", "nanoseconds", "list"]
        );
    }
}
