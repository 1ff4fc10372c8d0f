"""What partner apps and their users do, as service functions (views and the admin call these)."""
