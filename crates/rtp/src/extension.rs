//! RTP header extensions: the RFC 3550 generic form and the RFC 8285 one-byte and two-byte
//! element forms.
//!
//! [`HeaderExtension`] is the raw RFC 3550 extension (a 16-bit profile-defined value and data
//! whose length is a multiple of 4 bytes). When the profile value says RFC 8285
//! (`0xBEDE` one-byte, `0x100X` two-byte), [`HeaderExtension::elements`] walks the elements;
//! a malformed element list ends the walk (the packet is still usable: extensions are optional
//! information). [`write_elements`] builds the data for sending.

use crate::RtpError;

/// RFC 8285 profile value of the one-byte form.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// RFC 8285 profile value of the two-byte form (the low 4 bits are "appbits").
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// A header extension borrowing the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderExtension<'a> {
    /// The "defined by profile" 16 bits.
    pub profile: u16,
    /// Extension data; a multiple of 4 bytes on the wire.
    pub data: &'a [u8],
}

/// Which RFC 8285 form an extension uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtensionForm {
    /// One-byte header: ids 1-14, 1-16 data bytes.
    OneByte,
    /// Two-byte header: ids 1-255, 0-255 data bytes.
    TwoByte,
}

impl ExtensionForm {
    fn name(self) -> &'static str {
        match self {
            ExtensionForm::OneByte => "one-byte",
            ExtensionForm::TwoByte => "two-byte",
        }
    }
}

/// One RFC 8285 element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    /// Element id (negotiated in SDP `a=extmap`).
    pub id: u8,
    /// Element data.
    pub data: &'a [u8],
}

impl<'a> HeaderExtension<'a> {
    /// The RFC 8285 form, if the profile value names one.
    pub fn form(&self) -> Option<ExtensionForm> {
        if self.profile == ONE_BYTE_PROFILE {
            Some(ExtensionForm::OneByte)
        } else if self.profile & 0xfff0 == TWO_BYTE_PROFILE {
            Some(ExtensionForm::TwoByte)
        } else {
            None
        }
    }

    /// The RFC 8285 elements (empty for a generic extension). Stops at the first malformed
    /// element or, in the one-byte form, at id 15.
    pub fn elements(&self) -> Elements<'a> {
        Elements { form: self.form(), rest: self.data }
    }
}

/// Iterator over RFC 8285 elements.
#[derive(Clone, Debug)]
pub struct Elements<'a> {
    form: Option<ExtensionForm>,
    rest: &'a [u8],
}

impl<'a> Iterator for Elements<'a> {
    type Item = ExtensionElement<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let form = self.form?;
        loop {
            let (&first, after) = self.rest.split_first()?;
            if first == 0 {
                // Padding byte between elements.
                self.rest = after;
                continue;
            }
            let (id, len, data_from) = match form {
                ExtensionForm::OneByte => {
                    let id = first >> 4;
                    if id == 15 {
                        self.rest = &[];
                        return None;
                    }
                    (id, usize::from(first & 0x0f) + 1, after)
                }
                ExtensionForm::TwoByte => {
                    let (&len, data_from) = after.split_first()?;
                    (first, usize::from(len), data_from)
                }
            };
            let Some(data) = data_from.get(..len) else {
                self.rest = &[];
                return None;
            };
            self.rest = data_from.get(len..).unwrap_or_default();
            return Some(ExtensionElement { id, data });
        }
    }
}

/// Appends RFC 8285 elements in `form`, zero-padded to a multiple of 4 bytes, to `out`; the
/// result is the `data` of a [`HeaderExtension`] whose profile is [`ONE_BYTE_PROFILE`] or
/// [`TWO_BYTE_PROFILE`]. On error `out` is unchanged.
pub fn write_elements(
    form: ExtensionForm,
    elements: &[ExtensionElement<'_>],
    out: &mut Vec<u8>,
) -> Result<(), RtpError> {
    for e in elements {
        let (id_ok, len_ok, max) = match form {
            ExtensionForm::OneByte => ((1..=14).contains(&e.id), (1..=16).contains(&e.data.len()), 16),
            ExtensionForm::TwoByte => (e.id >= 1, e.data.len() <= 255, 255),
        };
        if !id_ok {
            return Err(RtpError::BadExtensionId { id: e.id, form: form.name() });
        }
        if !len_ok {
            return Err(RtpError::FieldOverflow {
                what: "extension element length",
                value: e.data.len(),
                max,
            });
        }
    }
    let start = out.len();
    for e in elements {
        // Lengths checked above: 1..=16 (one-byte) or 0..=255 (two-byte).
        match form {
            ExtensionForm::OneByte => out.push((e.id << 4) | (e.data.len() - 1) as u8),
            ExtensionForm::TwoByte => out.extend_from_slice(&[e.id, e.data.len() as u8]),
        }
        out.extend_from_slice(e.data);
    }
    while !(out.len() - start).is_multiple_of(4) {
        out.push(0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_elements_round_trip() {
        let els = [ExtensionElement { id: 1, data: &[0xAA] }, ExtensionElement { id: 14, data: &[1, 2, 3] }];
        let mut data = Vec::new();
        write_elements(ExtensionForm::OneByte, &els, &mut data).unwrap();
        assert_eq!(data, vec![0x10, 0xAA, 0xE2, 1, 2, 3, 0, 0]);
        let ext = HeaderExtension { profile: ONE_BYTE_PROFILE, data: &data };
        assert_eq!(ext.form(), Some(ExtensionForm::OneByte));
        assert_eq!(ext.elements().collect::<Vec<_>>(), els);
    }

    #[test]
    fn two_byte_elements_round_trip() {
        let big = [7u8; 200];
        let els = [ExtensionElement { id: 200, data: &big }, ExtensionElement { id: 3, data: &[] }];
        let mut data = Vec::new();
        write_elements(ExtensionForm::TwoByte, &els, &mut data).unwrap();
        assert_eq!(data.len() % 4, 0);
        let ext = HeaderExtension { profile: 0x1003, data: &data };
        assert_eq!(ext.form(), Some(ExtensionForm::TwoByte));
        assert_eq!(ext.elements().collect::<Vec<_>>(), els);
    }

    #[test]
    fn malformed_and_generic_extensions() {
        // Id 15 stops the walk; a length past the end stops it too.
        let ext = HeaderExtension { profile: ONE_BYTE_PROFILE, data: &[0x10, 1, 0xF0, 0x10, 2, 0, 0, 0] };
        assert_eq!(ext.elements().count(), 1);
        let ext = HeaderExtension { profile: ONE_BYTE_PROFILE, data: &[0x1F, 1, 2, 3] };
        assert_eq!(ext.elements().count(), 0);
        let ext = HeaderExtension { profile: 0x1234, data: &[1, 2, 3, 4] };
        assert_eq!(ext.form(), None);
        assert_eq!(ext.elements().count(), 0);
        let mut out = Vec::new();
        let bad = [ExtensionElement { id: 15, data: &[1] }];
        assert_eq!(
            write_elements(ExtensionForm::OneByte, &bad, &mut out),
            Err(RtpError::BadExtensionId { id: 15, form: "one-byte" })
        );
        let bad = [ExtensionElement { id: 1, data: &[] }];
        assert!(write_elements(ExtensionForm::OneByte, &bad, &mut out).is_err());
        assert!(out.is_empty());
    }
}
