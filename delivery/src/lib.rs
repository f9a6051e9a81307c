//! What happens to a master after it leaves the suite, shared by the `stem` tool and the Stem
//! Master plugin: lossy codecs ([`codec`]: MP3 through LAME and Ogg Vorbis through
//! libvorbis/aoTuV, block by block into any byte sink; [`decoded`]: any of them decoded again by
//! symphonia and measured with the suite's BS.1770 meters) and the streaming services'
//! loudness normalisation ([`services`], a data table with a source per row).

pub mod codec;
pub mod decoded;
pub mod services;
