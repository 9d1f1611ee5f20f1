//! The Dexcom deployment a provider configuration talks to: US, EU (outside the US), Japan or
//! the developer sandbox. An app and its users live in one region; the hosts differ.

use std::fmt;

use tether_core::provider::ProviderError;

/// A Dexcom deployment (option `region`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// `https://api.dexcom.com` (the default).
    Us,
    /// `https://api.dexcom.eu`: production outside the US.
    Eu,
    /// `https://api.dexcom.jp`.
    Jp,
    /// `https://sandbox-api.dexcom.com`: sandbox users, no real data.
    Sandbox,
}

impl Region {
    pub const ALL: [Region; 4] = [Region::Us, Region::Eu, Region::Jp, Region::Sandbox];

    /// The option value (`us`, `eu`, `jp`, `sandbox`).
    pub const fn as_str(&self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::Jp => "jp",
            Region::Sandbox => "sandbox",
        }
    }

    /// The base URL of the deployment's OAuth and data endpoints.
    pub const fn base_url(&self) -> &'static str {
        match self {
            Region::Us => "https://api.dexcom.com",
            Region::Eu => "https://api.dexcom.eu",
            Region::Jp => "https://api.dexcom.jp",
            Region::Sandbox => "https://sandbox-api.dexcom.com",
        }
    }

    /// Parses the `region` option; anything else is refused, naming the accepted values.
    pub fn parse(value: &str) -> Result<Self, ProviderError> {
        Region::ALL
            .into_iter()
            .find(|r| r.as_str() == value)
            .ok_or_else(|| ProviderError::Misconfigured {
                message: format!(
                    "option `region` must be one of us, eu, jp, sandbox, not `{}`",
                    value.chars().take(40).collect::<String>()
                ),
            })
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_round_trips_through_its_option_value() {
        for region in Region::ALL {
            assert_eq!(Region::parse(region.as_str()).unwrap(), region);
            assert!(region.base_url().starts_with("https://"));
        }
    }

    #[test]
    fn unknown_regions_are_refused_by_name() {
        for bad in ["", "US", "ca", "sandbox-eu"] {
            let err = Region::parse(bad).unwrap_err();
            assert!(err.to_string().contains("option `region`"), "{err}");
        }
    }
}
