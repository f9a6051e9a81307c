//! What happens to a master after it leaves the suite, shared by the `stem` tool and the Stem
//! Master plugin: lossy codecs ([`codec`]: MP3 through LAME and Ogg Vorbis through
//! libvorbis/aoTuV, block by block into any byte sink; [`decoded`]: any of them decoded again by
//! symphonia and measured with the suite's BS.1770 meters) and the streaming services'
//! loudness normalisation ([`services`], a data table with a source per row). Also the pieces
//! both need to bring audio from one rate to another ([`resample`]) and the plugin's reference
//! tracks, decoded and brought to the session rate ([`reference_file`]): here rather than in the
//! tool, since the plugin must not depend on the tool.

pub mod codec;
pub mod decoded;
pub mod reference_file;
pub mod resample;
pub mod services;
