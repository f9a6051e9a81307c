//! A file's speaker layout and the BS.1770 weight of each of its channels, so `stem report`
//! measures 5.0, 5.1 and 7.1 programmes (EBU Tech 3341 case 6) as well as mono and stereo.
//!
//! Weights (ITU-R BS.1770-5, Table 3, and the order of the summation in its section 2.3): the
//! front channels (left, right, centre and the wide/centre fronts) 1.0; LFE 0 (excluded); a
//! surround channel between 60 and 120 degrees off centre 1.41 (+1.5 dB). In 5.0/5.1 the two
//! surrounds sit at about +-110 degrees, whether a file labels them "back" (the WAV mask of
//! KSAUDIO_SPEAKER_5POINT1) or "side", so both get 1.41. In 7.1 the side pair (+-90) gets 1.41 and
//! the back pair (+-135 to 150, outside 60-120) 1.0. Anything else behind or above: 1.0.
//!
//! Channel order: the positions the decoder reports (a WAV's channel mask, FLAC's fixed orders).
//! A WAV without a mask is read in the WAV default order (FL FR FC LFE BL BR ...), except a
//! 5-channel one: L R C Ls Rs, the order of the EBU loudness test set's 5.0 files (the default
//! order would put an LFE fourth and leave one surround out). A writer that fills the mask with
//! the first five bits (FL FR FC LFE BL, as some libraries do) means the same.

use symphonia::core::audio::{Channels, Position};

/// Weight of a surround channel within 60-120 degrees of the front (BS.1770-5, Table 3).
pub const SURROUND_WEIGHT: f64 = 1.41;

/// How a file's channels are measured.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelLayout {
    /// "mono", "stereo", "5.0", "5.1", "7.1", or the positions in order.
    pub name: String,
    /// One BS.1770 weight per channel, in the file's channel order.
    pub weights: Vec<f64>,
}

/// The layout of a file with these channels.
pub fn layout_of(channels: &Channels) -> ChannelLayout {
    let count = channels.count();
    let positions = match channels {
        Channels::Positioned(p) => Some(*p),
        _ => None,
    };
    // The 5-channel file without a mask (or with the first five mask bits): L R C Ls Rs.
    let five_without_mask = count == 5 && positions == Position::from_count(5);
    let positions = if five_without_mask {
        Position::FRONT_LEFT
            | Position::FRONT_RIGHT
            | Position::FRONT_CENTER
            | Position::SIDE_LEFT
            | Position::SIDE_RIGHT
    } else {
        match positions {
            Some(p) => p,
            // Discrete or unlabelled channels: no speaker is known to be a surround or an LFE.
            None => {
                return ChannelLayout {
                    name: format!("{count} discrete channels"),
                    weights: vec![1.0; count],
                }
            }
        }
    };
    let has_side = positions.intersects(Position::SIDE_LEFT | Position::SIDE_RIGHT);
    // Positions iterate in mask-bit order, which is the interleaved channel order.
    let weights = positions.iter().map(|p| weight_of(p, has_side)).collect();
    ChannelLayout {
        name: name_of(positions, count),
        weights,
    }
}

fn weight_of(position: Position, layout_has_side_pair: bool) -> f64 {
    if position == Position::LFE1 || position == Position::LFE2 {
        0.0
    } else if position == Position::SIDE_LEFT || position == Position::SIDE_RIGHT {
        SURROUND_WEIGHT
    } else if (position == Position::REAR_LEFT || position == Position::REAR_RIGHT)
        && !layout_has_side_pair
    {
        // 5.x surrounds labelled "back" (about +-110 degrees).
        SURROUND_WEIGHT
    } else {
        1.0
    }
}

fn name_of(positions: Position, count: usize) -> String {
    let front = Position::FRONT_LEFT | Position::FRONT_RIGHT | Position::FRONT_CENTER;
    let rear = Position::REAR_LEFT | Position::REAR_RIGHT;
    let side = Position::SIDE_LEFT | Position::SIDE_RIGHT;
    let lfe = positions.contains(Position::LFE1);
    let without_lfe = positions - Position::LFE1;
    if count == 1 {
        "mono".into()
    } else if positions == Position::FRONT_LEFT | Position::FRONT_RIGHT {
        "stereo".into()
    } else if without_lfe == front | rear || without_lfe == front | side {
        if lfe { "5.1" } else { "5.0" }.into()
    } else if without_lfe == front | rear | side {
        if lfe { "7.1" } else { "7.0" }.into()
    } else {
        format!("{count} channels ({positions})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(bits: u64) -> Channels {
        Channels::Positioned(Position::from_bits(bits).unwrap())
    }

    #[test]
    fn the_common_layouts_get_the_bs1770_weights() {
        let s = SURROUND_WEIGHT;
        // WAV default orders (no mask): stereo, 5.1.
        assert_eq!(layout_of(&mask(0b11)).weights, [1.0, 1.0]);
        assert_eq!(layout_of(&mask(0b11)).name, "stereo");
        let five_one = layout_of(&mask(0x3F));
        assert_eq!(five_one.name, "5.1");
        assert_eq!(five_one.weights, [1.0, 1.0, 1.0, 0.0, s, s]);
        // 5.1 labelled with side surrounds (KSAUDIO_SPEAKER_5POINT1_SURROUND).
        assert_eq!(layout_of(&mask(0x60F)).weights, [1.0, 1.0, 1.0, 0.0, s, s]);
        // 5.0 without a mask: L R C Ls Rs (the EBU test set's order), not L R C LFE BL.
        let five = layout_of(&mask(0x1F));
        assert_eq!(five.name, "5.0");
        assert_eq!(five.weights, [1.0, 1.0, 1.0, s, s]);
        // 5.0 with a real mask (FL FR FC BL BR).
        assert_eq!(layout_of(&mask(0x37)).weights, [1.0, 1.0, 1.0, s, s]);
        // 7.1 (FL FR FC LFE BL BR SL SR): backs at +-135-150 weigh 1.0, sides 1.41.
        let seven_one = layout_of(&mask(0x63F));
        assert_eq!(seven_one.name, "7.1");
        assert_eq!(seven_one.weights, [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, s, s]);
        // Discrete channels: all measured alike.
        assert_eq!(layout_of(&Channels::Discrete(3)).weights, [1.0; 3]);
    }
}
