"""domolite: a self-hosted DataSet platform that speaks Domo's APIs."""

__version__ = "0.1.0"
