<#-- keycloak.v2's login page, SMS code first (as a Chinese consumer product opens):
     tab 验证码登录 (default): the phone goes to identity provider "phone" (the facade) as
       login_hint, through Keycloak's own broker login URL (a GET form that repeats its query), so
       the facade's page opens with the phone filled in and its code already sent;
     tab 密码登录: Keycloak's own form (手机号 / 用户名 / 邮箱), shown first after a failed try;
       "手机号密码登录" and "忘记密码" lead to the facade's phone + password and SMS reset forms
       (login_hint "password" / "reset"), so a phone works for every user and a reset never
       needs an email.
     Tabs are CSS-only radio buttons: no script. Without a "phone" provider this is the stock
     page with its password form. -->
<#import "template.ftl" as layout>
<#import "field.ftl" as field>
<#import "buttons.ftl" as buttons>
<#import "social-providers.ftl" as identityProviders>
<#import "passkeys.ftl" as passkeys>
<#assign phoneIdp = "">
<#list (social.providers)![] as p><#if p.alias == "phone"><#assign phoneIdp = p></#if></#list>
<#assign hasPhone = phoneIdp?has_content && realm.password>
<#assign passwordFirst = messagesPerField.existsError('username','password') || (login.username!'')?has_content>
<#macro phoneLink hint id label>
  <a id="${id}" href="${phoneIdp.loginUrl}&login_hint=${hint?url('UTF-8')}">${msg(label)}</a>
</#macro>
<@layout.registrationLayout displayMessage=!messagesPerField.existsError('username','password') displayInfo=realm.password && realm.registrationAllowed && !registrationDisabled??; section>
<!-- template: login.ftl (facade) -->

    <#if section = "header">
        ${msg("loginAccountTitle")}
    <#elseif section = "form">
        <div id="kc-form">
          <div id="kc-form-wrapper" class="<#if hasPhone>facade-tabs</#if>">
            <#if hasPhone>
                <input type="radio" name="facade-tab" id="facade-tab-sms" class="facade-tab-input" <#if !passwordFirst>checked</#if>>
                <input type="radio" name="facade-tab" id="facade-tab-password" class="facade-tab-input" <#if passwordFirst>checked</#if>>
                <div class="facade-tab-labels" role="tablist">
                    <label for="facade-tab-sms" id="facade-tab-sms-label" role="tab">${msg("facadeTabSms")}</label>
                    <label for="facade-tab-password" id="facade-tab-password-label" role="tab">${msg("facadeTabPassword")}</label>
                </div>
                <div class="facade-pane facade-pane-sms">
                    <form id="facade-sms-form" class="${properties.kcFormClass!}" action="${phoneIdp.loginUrl?keep_before('?')}" method="get">
                        <#list phoneIdp.loginUrl?keep_after('?')?split('&') as pair>
                            <#if pair?has_content && pair?keep_before('=') != "login_hint">
                                <input type="hidden" name="${pair?keep_before('=')}" value="${pair?keep_after('=')}">
                            </#if>
                        </#list>
                        <@field.group name="facade-phone" label=msg("facadePhone")>
                            <span class="${properties.kcInputClass}">
                                <input id="facade-phone" name="login_hint" type="tel" inputmode="numeric" autocomplete="tel"
                                       maxlength="20" pattern="\+?[0-9 ]{11,20}" required <#if !passwordFirst>autofocus</#if>>
                            </span>
                        </@field.group>
                        <@buttons.actionGroup>
                            <@buttons.button id="facade-send" label="facadeSendCode" class=["kcButtonPrimaryClass", "kcButtonBlockClass"] />
                        </@buttons.actionGroup>
                        <p class="facade-hint">${msg("facadeNewPhoneHint")}</p>
                    </form>
                </div>
            </#if>
            <#if realm.password>
              <div class="facade-pane facade-pane-password">
                <form id="kc-form-login" class="${properties.kcFormClass!}" onsubmit="login.disabled = true; return true;" action="${url.loginAction}" method="post" novalidate="novalidate">
                    <#if !usernameHidden??>
                        <#assign label>
                            <#if !realm.loginWithEmailAllowed>${msg("username")}<#elseif !realm.registrationEmailAsUsername>${msg("usernameOrEmail")}<#else>${msg("email")}</#if>
                        </#assign>
                        <@field.input name="username" label=label error=messagesPerField.getFirstError('username','password')
                            autofocus=passwordFirst autocomplete="${(enableWebAuthnConditionalUI?has_content)?then('username webauthn', 'username')}" value=login.username!'' />
                    </#if>
                    <@field.password name="password" label=msg("password") error="" forgotPassword=realm.resetPasswordAllowed && !hasPhone autofocus=usernameHidden?? autocomplete="current-password">
                        <#if realm.rememberMe && !usernameHidden??>
                            <@field.checkbox name="rememberMe" label=msg("rememberMe") value=login.rememberMe?? />
                        </#if>
                    </@field.password>
                    <#if hasPhone>
                        <div class="facade-links">
                            <@phoneLink hint="password" id="facade-phone-password" label="facadePhonePassword"/>
                            <#if realm.resetPasswordAllowed><@phoneLink hint="reset" id="facade-forgot" label="doForgotPassword"/></#if>
                        </div>
                    </#if>
                    <input type="hidden" id="id-hidden-input" name="credentialId" <#if auth.selectedCredential?has_content>value="${auth.selectedCredential}"</#if>/>
                    <@buttons.loginButton />
                </form>
              </div>
            </#if>
          </div>
        </div>
        <@passkeys.conditionalUIData />
    <#elseif section = "socialProviders" >
        <#if realm.password && social.providers?? && social.providers?has_content>
            <@identityProviders.show social=social/>
        </#if>
    <#elseif section = "info" >
        <#if realm.password && realm.registrationAllowed && !registrationDisabled??>
            <div id="kc-registration-container">
                <div id="kc-registration">
                    <span>${msg("noAccount")} <a href="${url.registrationUrl}">${msg("doRegister")}</a></span>
                </div>
            </div>
        </#if>
    </#if>

</@layout.registrationLayout>
