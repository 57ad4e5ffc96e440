//! A unit-test check every resource's description shares: its table of properties against the migrated table.

/// Checks a resource's description against its migrated table: every column is a described property's (with
/// `NOT NULL` exactly when the property is always set) or one of `bookkeeping`, and every described column exists.
pub fn assert_described<'a>(
    table: &str,
    stored: impl Iterator<Item = (&'a str, bool)>,
    bookkeeping: &[&str],
) {
    let db = super::migrated_rusqlite_for_tests();
    let mut statement = db
        .prepare("SELECT name, \"notnull\" FROM pragma_table_info(?)")
        .unwrap();
    let columns: Vec<(String, bool)> = statement
        .query_map([table], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let stored: Vec<(&str, bool)> = stored.collect();
    for (column, not_null) in &columns {
        match stored.iter().find(|(c, _)| c == column) {
            Some((_, always_set)) => assert_eq!(
                always_set, not_null,
                "{table}.{column}: NOT NULL must match always_set"
            ),
            None => assert!(
                bookkeeping.contains(&column.as_str()),
                "{table}.{column} is described nowhere"
            ),
        }
    }
    for column in stored
        .iter()
        .map(|(c, _)| *c)
        .chain(bookkeeping.iter().copied())
    {
        assert!(
            columns.iter().any(|(c, _)| c == column),
            "{column} is described but not in {table}"
        );
    }
}
