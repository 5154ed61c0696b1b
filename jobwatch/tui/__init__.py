"""The Textual dashboard. The only package of jobwatch that imports Textual."""
