package esdbstore

// EncodeMetadataForTest exposes the metadata encoding to the forging test
// helper, which writes events around the store.
var EncodeMetadataForTest = encodeMetadata
