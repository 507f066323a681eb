//! `lead_score.top`: the best contacts by current score without reading every score
//! row. Score rows are read in descending `ceiling` order (an index): each row's exact
//! score is computed, and the reading stops once no later row's ceiling can beat the
//! scores found (see `lead_score_core::top_list`). Read as the caller, as the scores
//! view is: the score table's row-level policy shows the caller the contacts it may
//! see in the CRM's contacts table.

use pgrx::spi::SpiClient;

use crate::pg::base::attached::Attached;
use crate::pg::base::errors::spi_failed;
use crate::pg::base::params::Params;
use crate::pg::base::spi_rows::{Row, Rows};
use lead_score_core::top_list::{Found, TopList};

/// The most rows one page reads.
const MAX_PAGE: usize = 1 << 16;

/// What `top` is asked for: how many (all for `None`), the lowest score, and the
/// contacts' PQL and disqualified flags (either, for `None`).
pub(crate) struct TopAsked {
    /// Read every row, whatever the ceilings (the clock is simulated: `lead_score.now`
    /// may read before the rows' last writes, which no ceiling bounds).
    pub(crate) every_row: bool,
    pub(crate) n: Option<usize>,
    pub(crate) min_score: Option<f64>,
    pub(crate) pql: Option<bool>,
    pub(crate) disqualified: Option<bool>,
}

/// The contacts `asked` for, best first, with their scores at `now`; and how many
/// score rows were read.
pub(crate) fn top_scores(
    client: &SpiClient<'_>,
    attached: &Attached,
    asked: &TopAsked,
    now: i64,
) -> (Vec<Found>, u64) {
    let attachment = &attached.attachment;
    let mut list = TopList::new(asked.n, asked.min_score);
    // Pages in descending (ceiling, key) order, each a query of its own with a LIMIT
    // (planned for its few rows: the index, backwards), the next after the last row
    // read: enough for the list and its ties at first, then twice as many each time.
    let mut after: Option<(f64, String)> = None;
    let mut page = asked.n.map_or(1024, |n| (n + 32).min(MAX_PAGE));
    'reading: loop {
        let mut params = Params::default();
        let pql = params.bind(asked.pql);
        let tag = params.bind(attached.compiled.settings.pql_tag.clone());
        let disqualified = params.bind(asked.disqualified);
        let minimum = params.bind(asked.min_score.filter(|_| !asked.every_row));
        let keyset = match &after {
            None => String::new(),
            Some((ceiling, key)) => {
                let ceiling = params.bind(*ceiling);
                let key = params.bind(key.as_str());
                format!(
                    " AND (s.ceiling, s.contact_key) < ({ceiling}::float8, {key}::text::{key_type})",
                    key_type = attachment.key_type
                )
            }
        };
        // (The filters as the scores view computes is_pql and disqualified. PQLs only:
        // the index of the tagged contacts, whose predicate the query states.)
        let tagged = if asked.pql == Some(true) { " AND cardinality(s.tags) > 0" } else { "" };
        let query = format!(
            "SELECT s.contact_key::text, s.fit, s.engagement, s.ceiling FROM {state} s
              WHERE ({pql}::boolean IS NULL OR coalesce({tag}::text = ANY (s.tags), false) = {pql}::boolean){tagged}
                AND ({disqualified}::boolean IS NULL
                     OR (pg_catalog.cardinality(s.disqualified_by) > 0) = {disqualified}::boolean)
                AND ({minimum}::float8 IS NULL OR s.ceiling >= {minimum}::float8){keyset}
              ORDER BY s.ceiling DESC, s.contact_key DESC LIMIT {page}",
            state = attachment.state_table
        );
        let rows = Rows::select(client, query.as_str(), params.args())
            .unwrap_or_else(|e| spi_failed(attachment, "reading the score rows", e));
        let mut read = 0;
        for row in rows.iter() {
            read += 1;
            let ceiling = row.float(4).unwrap_or(f64::INFINITY);
            if !asked.every_row && list.done_before(ceiling) {
                break 'reading;
            }
            let Some(key) = row.text(1) else { continue };
            after = Some((ceiling, key.to_owned()));
            if let (Some(fit), Some(engagement)) = (row.float(2), row.decayed(3)) {
                list.offer(key.to_owned(), fit + engagement.value_at(now));
            }
        }
        if read < page {
            break;
        }
        page = (page * 2).min(MAX_PAGE);
    }
    let offered = list.offered();
    (list.into_sorted(), offered)
}
