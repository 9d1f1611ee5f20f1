//! How many SMS a text becomes (Orange bills per part): GSM-7 when every character is in the
//! GSM 03.38 alphabet (extension characters such as `€` or `{` take two septets; 160 septets
//! in one SMS, 153 per part when concatenated), UCS-2 otherwise (70 UTF-16 units in one SMS,
//! 67 per part). An escape pair or a surrogate pair is never split across parts.

pub use tether_core::sms::SmsEncoding;

/// The GSM 03.38 basic alphabet (without the escape character).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table: each costs an escape plus the character.
const GSM_EXTENSION: &str = "\u{0C}^{}\\[~]|€";

/// A text's size in SMS terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentCount {
    pub encoding: SmsEncoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    /// How many SMS the text is sent (and billed) as.
    pub segments: u32,
}

fn gsm_cost(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Parts needed for `costs` when one SMS holds `single` units and a part `part` units,
/// never splitting one character's units.
fn parts(costs: &[usize], single: usize, part: usize) -> u32 {
    if costs.iter().sum::<usize>() <= single {
        return 1;
    }
    let mut segments = 1;
    let mut used = 0;
    for &cost in costs {
        if used + cost > part {
            segments += 1;
            used = 0;
        }
        used += cost;
    }
    segments
}

/// The encoding, size and number of parts of `text`.
pub fn count_segments(text: &str) -> SegmentCount {
    let gsm: Option<Vec<usize>> = text.chars().map(gsm_cost).collect();
    match gsm {
        Some(costs) => SegmentCount {
            encoding: SmsEncoding::Gsm7,
            units: costs.iter().sum(),
            segments: parts(&costs, 160, 153),
        },
        None => {
            let costs: Vec<usize> = text.chars().map(char::len_utf16).collect();
            SegmentCount {
                encoding: SmsEncoding::Ucs2,
                units: costs.iter().sum(),
                segments: parts(&costs, 70, 67),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_basic_alphabet_has_127_characters_besides_escape() {
        assert_eq!(GSM_BASIC.chars().count(), 127);
    }

    #[test]
    fn gsm_texts_fit_160_septets_then_153_per_part() {
        let one = count_segments(&"a".repeat(160));
        assert_eq!((one.encoding, one.segments), (SmsEncoding::Gsm7, 1));
        assert_eq!(count_segments(&"a".repeat(161)).segments, 2);
        assert_eq!(count_segments(&"a".repeat(306)).segments, 2);
        assert_eq!(count_segments(&"a".repeat(307)).segments, 3);
        assert_eq!(
            count_segments("Prix: 10€ [promo]").encoding,
            SmsEncoding::Gsm7
        );
    }

    #[test]
    fn extension_characters_count_twice_and_are_not_split() {
        let text = "€".repeat(80);
        let count = count_segments(&text);
        assert_eq!((count.units, count.segments), (160, 1));
        // 152 septets, then a two-septet `€` that would straddle the 153 boundary.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        assert_eq!(count_segments(&text).units, 164);
        assert_eq!(count_segments(&text).segments, 2);
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(count_segments(&text).segments, 3);
    }

    #[test]
    fn other_characters_switch_to_ucs2_with_70_then_67_per_part() {
        let one = count_segments(&"ê".repeat(70));
        assert_eq!(
            (one.encoding, one.units, one.segments),
            (SmsEncoding::Ucs2, 70, 1)
        );
        assert_eq!(count_segments(&"ê".repeat(71)).segments, 2);
        assert_eq!(count_segments(&"ê".repeat(134)).segments, 2);
        assert_eq!(count_segments(&"ê".repeat(135)).segments, 3);
        let emoji = count_segments("👍");
        assert_eq!((emoji.encoding, emoji.units), (SmsEncoding::Ucs2, 2));
    }
}
